using System.Net;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.WebUtilities;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Invocation;

/// <summary>
/// Dapr's gRPC <c>InvokeService</c> (the SDK's <c>InvokeMethodGrpcAsync</c>), decided as daprd decides it:
/// the target app of this runtime, the callee's accessControl, then the app's own channel: OnInvoke for a
/// gRPC app (its answer and status pass through), an HTTP request for an HTTP app (verb and query string
/// from the HTTP extension; a non-2xx answer becomes the gRPC status daprd maps it to, the HTTP status in
/// the <c>dapr-http-status</c> header). Failures before the app answers are Internal
/// <c>failed to invoke, id: …, err: …</c>, daprd's words, with the callee sidecar's error in Go's form.
/// </summary>
public sealed class DirectInvocation(AppDescriptor caller, AppDirectory apps, RuntimeResources resources, GrpcAppChannel grpcApps, HttpMessageInvoker http)
{
    public async Task<InvokeResponse> InvokeServiceAsync(InvokeServiceRequest request, ServerCallContext context)
    {
        var message = request.Message ?? new InvokeRequest();
        var target = apps.Find(request.Id) ?? throw Failed(request.Id, $"app id '{request.Id}' is not running in this runtime");
        message.Method = NormalizedMethod(request.Id, message.Method);

        // The HTTP verb counts only for an HTTP app, and only when the call names one (daprd's NONE).
        var verb = target.Protocol == AppChannelProtocol.Http && message.HttpExtension is { Verb: not HTTPExtension.Types.Verb.None } extension
            ? extension.Verb.ToString().ToUpperInvariant()
            : null;
        if (resources.AccessControl is { } accessControl && !accessControl.Allows(caller.AppId, message.Method, verb))
        {
            throw Failed(request.Id, "rpc error: code = PermissionDenied desc = access control policy has denied access to id: "
                + $"spiffe://{AccessControl.DefaultTrustDomain}/ns/{AccessControl.DefaultNamespace}/{caller.AppId} operation: {message.Method} verb: {verb ?? "NONE"}");
        }

        return target.Protocol == AppChannelProtocol.Grpc
            ? await InvokeGrpcAppAsync(target, message, context)
            : await InvokeHttpAppAsync(target, message, context);
    }

    private async Task<InvokeResponse> InvokeGrpcAppAsync(AppDescriptor target, InvokeRequest message, ServerCallContext context)
    {
        var headers = new Metadata();
        foreach (var entry in context.RequestHeaders.Where(e => IsPassed(e.Key)))
        {
            headers.Add(entry);
        }

        GrpcAppChannel.AddCallerAndCallee(headers, caller.AppId, target.AppId);
        var call = grpcApps.For(target).OnInvokeAsync(message, GrpcAppChannel.Options(target, headers, context.CancellationToken));
        try
        {
            var response = await call.ResponseAsync;
            foreach (var trailer in call.GetTrailers().Where(e => IsPassed(e.Key)))
            {
                context.ResponseTrailers.Add(trailer);
            }

            return response;
        }
        catch (RpcException ex)
        {
            var trailers = new Metadata();
            foreach (var trailer in ex.Trailers.Where(e => IsPassed(e.Key)))
            {
                trailers.Add(trailer);
            }

            throw new RpcException(ex.Status, trailers);
        }
        finally
        {
            call.Dispose();
        }
    }

    private async Task<InvokeResponse> InvokeHttpAppAsync(AppDescriptor target, InvokeRequest message, ServerCallContext context)
    {
        if (message.HttpExtension is not { Verb: not (HTTPExtension.Types.Verb.None or HTTPExtension.Types.Verb.Connect) } extension)
        {
            throw Failed(target.AppId, "rpc error: code = Internal desc = error invoking app channel: rpc error: code = InvalidArgument desc = "
                + (message.HttpExtension is null ? "missing HTTP extension field" : "invalid HTTP verb"));
        }

        var query = extension.Querystring.Length > 0 ? "?" + extension.Querystring : "";
        using var request = new HttpRequestMessage(new HttpMethod(extension.Verb.ToString().ToUpperInvariant()), new Uri(target.AppAddress, "/" + message.Method.TrimStart('/') + query))
        {
            Content = new ReadOnlyMemoryContent((message.Data?.Value ?? ByteString.Empty).Memory),
        };
        var contentType = message.Data is { TypeUrl.Length: > 0 } ? GrpcAppChannel.ProtobufContentType : message.ContentType;
        if (contentType.Length > 0)
        {
            request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        foreach (var entry in context.RequestHeaders.Where(e => !e.IsBinary && IsPassed(e.Key)))
        {
            request.Headers.TryAddWithoutValidation(entry.Key, entry.Value);
        }

        request.Headers.TryAddWithoutValidation("dapr-caller-app-id", caller.AppId);
        request.Headers.TryAddWithoutValidation("dapr-callee-app-id", target.AppId);
        target.Authenticate(request);

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, context.CancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw Failed(target.AppId, $"rpc error: code = Internal desc = error invoking app channel: {ex.Message}");
        }

        using (response)
        {
            var body = await response.Content.ReadAsByteArrayAsync(context.CancellationToken);
            var status = (int)response.StatusCode;
            await context.WriteResponseHeadersAsync(new Metadata { { "dapr-http-status", status.ToString(System.Globalization.CultureInfo.InvariantCulture) } });
            if (status is < 200 or >= 300)
            {
                throw new RpcException(new Status(GrpcStatusOf(response.StatusCode), ReasonPhrases.GetReasonPhrase(status)));
            }

            return new InvokeResponse
            {
                Data = new Any { Value = ByteString.CopyFrom(body) },
                ContentType = response.Content.Headers.ContentType?.ToString() ?? "",
            };
        }
    }

    /// <summary>daprd's NormalizeMethod: no <c>#</c>, <c>?</c> or control characters; dot segments resolved, so that what the ACL judged is what the app gets.</summary>
    private static string NormalizedMethod(string appId, string method)
    {
        if (method.Any(c => c is '#' or '?' || char.IsControl(c)))
        {
            throw Failed(appId, $"rpc error: code = InvalidArgument desc = invalid method: method contains a forbidden or control character: \"{method}\"");
        }

        var segments = new List<string>();
        foreach (var segment in method.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
            }
            else if (segment != ".")
            {
                segments.Add(segment);
            }
        }

        return (method.StartsWith('/') ? "/" : "") + string.Join('/', segments);
    }

    /// <summary>The caller's metadata the callee may see: not the connection's, not the caller's token, not the ids the sidecar sets.</summary>
    private static bool IsPassed(string key) =>
        !key.StartsWith(':') && !key.StartsWith("grpc-", StringComparison.Ordinal)
        && key is not ("content-type" or "te" or "host" or "user-agent" or AppDescriptor.TokenHeader or "dapr-caller-app-id" or "dapr-callee-app-id" or InvocationExtensions.AppIdHeader);

    /// <summary>daprd's CodeFromHTTPStatus for a non-2xx answer of an HTTP app.</summary>
    private static StatusCode GrpcStatusOf(HttpStatusCode status) => status switch
    {
        HttpStatusCode.RequestTimeout => StatusCode.Cancelled,
        HttpStatusCode.BadRequest => StatusCode.Internal,
        HttpStatusCode.GatewayTimeout => StatusCode.DeadlineExceeded,
        HttpStatusCode.NotFound => StatusCode.NotFound,
        HttpStatusCode.Conflict => StatusCode.AlreadyExists,
        HttpStatusCode.Forbidden => StatusCode.PermissionDenied,
        HttpStatusCode.Unauthorized => StatusCode.Unauthenticated,
        HttpStatusCode.TooManyRequests => StatusCode.ResourceExhausted,
        HttpStatusCode.NotImplemented => StatusCode.Unimplemented,
        HttpStatusCode.ServiceUnavailable => StatusCode.Unavailable,
        _ => StatusCode.Unknown,
    };

    private static RpcException Failed(string appId, string error) => new(new Status(StatusCode.Internal, $"failed to invoke, id: {appId}, err: {error}"));
}
