using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Api;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using Yarp.ReverseProxy.Forwarder;

namespace TicketSaga.Runtime.Invocation;

/// <summary>
/// Service invocation with YARP's forwarder: gRPC (and HTTP) requests carrying <c>dapr-app-id</c>
/// go to that app at the same path; <c>/v1.0/invoke/{appId}/method/{method}</c> goes to the app at
/// <c>/{method}</c>. Status codes, headers, bodies and gRPC trailers pass through unchanged. An HTTP call of
/// a gRPC app goes to its <c>AppCallback.OnInvoke</c> (<see cref="GrpcAppChannel"/>); Dapr's gRPC
/// <c>InvokeService</c> is <see cref="DirectInvocation"/>.
/// </summary>
public static class InvocationExtensions
{
    public const string AppIdHeader = "dapr-app-id";

    private static readonly ForwarderRequestConfig Http2Exact = new()
    {
        // Without Exact, an http:// destination falls back to HTTP/1.1 and gRPC breaks.
        Version = HttpVersion.Version20,
        VersionPolicy = HttpVersionPolicy.RequestVersionExact,
    };

    private static readonly ForwarderRequestConfig Http11 = new()
    {
        Version = HttpVersion.Version11,
        VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
    };

    /// <summary>
    /// Connections to one app at most. gRPC apps multiplex HTTP/2 streams over them; HTTP/1.1 apps get
    /// a request per connection, and requests beyond wait for one instead of opening a connection each.
    /// </summary>
    public const int MaxConnectionsPerApp = 64;

    public static IServiceCollection AddServiceInvocation(this IServiceCollection services)
    {
        services.AddHttpForwarder();
        services.AddSingleton<GrpcAppChannel>();
        services.AddSingleton<DirectInvocation>();
        return services.AddSingleton(_ => new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            MaxConnectionsPerServer = MaxConnectionsPerApp,
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
            ConnectTimeout = TimeSpan.FromSeconds(15),
        }));
    }

    public static WebApplication MapServiceInvocation(this WebApplication web)
    {
        // Runs before any endpoint executes, so the header wins over the Dapr API and workflow
        // services on the gRPC port (including Grpc.AspNetCore's unimplemented-service catch-all).
        web.Use(async (context, next) =>
        {
            var appId = context.Request.Headers[AppIdHeader].ToString();
            var caller = context.RequestServices.GetRequiredService<AppDescriptor>();
            var onGrpcPort = context.Connection.LocalPort == caller.GrpcPort;
            if (appId.Length == 0 || !(onGrpcPort || context.GetEndpoint() is null))
            {
                await next(context);
                return;
            }

            await ForwardAsync(context, appId, context.Request.Path, IsGrpc(context.Request));
        });

        web.Map("/v1.0/invoke/{appId}/method/{**method}", (HttpContext context, string appId) =>
        {
            var prefix = $"/v1.0/invoke/{appId}/method";
            var path = context.Request.Path.Value!.Length > prefix.Length ? context.Request.Path.Value[prefix.Length..] : "/";
            return ForwardAsync(context, appId, path, IsGrpc(context.Request));
        });
        return web;
    }

    private static bool IsGrpc(HttpRequest request) =>
        request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true;

    private static async Task ForwardAsync(HttpContext context, string appId, PathString path, bool grpc)
    {
        var services = context.RequestServices;
        var caller = services.GetRequiredService<AppDescriptor>();
        var target = services.GetRequiredService<AppDirectory>().Find(appId);
        if (target is null)
        {
            await FailAsync(context, grpc, Unavailable, $"app id '{appId}' is not running in this runtime");
            return;
        }

        // Decided as the callee's daprd decides it; verbs apply only to calls of an HTTP app.
        var verb = grpc || target.Protocol == AppChannelProtocol.Grpc ? null : context.Request.Method;
        if (services.GetRequiredService<RuntimeResources>().AccessControl is { } accessControl && !accessControl.Allows(caller.AppId, path.Value ?? "/", verb))
        {
            await FailAsync(context, grpc, PermissionDenied,
                $"access control policy has denied access to id: spiffe://{AccessControl.DefaultTrustDomain}/ns/{AccessControl.DefaultNamespace}/{caller.AppId} operation: {path} verb: {verb ?? "NONE"}");
            return;
        }

        if (!grpc && target.Protocol == AppChannelProtocol.Grpc)
        {
            // As daprd: an HTTP call of a gRPC app reaches its AppCallback.OnInvoke.
            await services.GetRequiredService<GrpcAppChannel>().InvokeFromHttpAsync(context, caller.AppId, target, path.Value!.TrimStart('/'));
            return;
        }

        var config = grpc || target.Protocol == AppChannelProtocol.Grpc ? Http2Exact : Http11;
        var error = await services.GetRequiredService<IHttpForwarder>().SendAsync(
            context, target.AppAddress.ToString(), services.GetRequiredService<HttpMessageInvoker>(), config,
            new AppTransformer(caller.AppId, target, path));
        if (error != ForwarderError.None && !context.Response.HasStarted)
        {
            var detail = context.Features.Get<IForwarderErrorFeature>()?.Exception?.Message;
            await FailAsync(context, grpc, Unavailable, $"app id '{appId}' did not answer at {target.AppAddress} ({error}: {detail})");
        }
    }

    private static async Task FailAsync(HttpContext context, bool grpc, Failure failure, string message)
    {
        context.Response.Clear();
        if (grpc)
        {
            // A trailers-only gRPC answer: the client sees the status code with this message.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = failure.GrpcStatus;
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
            return;
        }

        context.Response.StatusCode = failure.HttpStatus;
        await context.Response.WriteAsJsonAsync(new DaprError(failure.ErrorCode, message));
    }

    private sealed record Failure(string GrpcStatus, int HttpStatus, string ErrorCode);

    private static readonly Failure Unavailable = new("14", StatusCodes.Status500InternalServerError, "ERR_DIRECT_INVOKE");

    private static readonly Failure PermissionDenied = new("7", StatusCodes.Status403Forbidden, "ERR_PERMISSION_DENIED");

    /// <summary>
    /// Keeps the request as sent, at the app's path; replaces the caller's Dapr API token by the callee's
    /// app API token and names caller and callee like daprd.
    /// </summary>
    private sealed class AppTransformer(string callerAppId, AppDescriptor callee, PathString path) : HttpTransformer
    {
        public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
            proxyRequest.RequestUri = RequestUtilities.MakeDestinationAddress(destinationPrefix, path, httpContext.Request.QueryString);
            callee.Authenticate(proxyRequest);
            proxyRequest.Headers.Remove("dapr-caller-app-id");
            proxyRequest.Headers.Remove("dapr-callee-app-id");
            proxyRequest.Headers.TryAddWithoutValidation("dapr-caller-app-id", callerAppId);
            proxyRequest.Headers.TryAddWithoutValidation("dapr-callee-app-id", callee.AppId);
        }
    }
}
