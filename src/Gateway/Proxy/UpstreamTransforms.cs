using System.Net;
using System.Text.Json;
using TicketSaga.ServiceDefaults;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;
using Yarp.ReverseProxy.Transforms.Builder;

namespace TicketSaga.Gateway.Proxy;

/// <summary>
/// What the gateway changes on the way through: the caller's identity out, Dapr's failures back as
/// problem details. The Authorization header is forwarded unchanged: every service validates it again.
/// </summary>
public static partial class UpstreamTransforms
{
    /// <summary>The authenticated user's id (the token's sub claim), for logs and tracing behind the gateway.</summary>
    public const string UserIdHeader = "X-User-Id";

    public static void Apply(TransformBuilderContext context)
    {
        // The sidecar's Dapr API token (as DaprClient would send it); none when the sidecar requires none.
        var daprApiToken = DaprSidecar.ApiToken(context.Services.GetRequiredService<IConfiguration>());
        context.AddRequestTransform(transform =>
        {
            var headers = transform.ProxyRequest.Headers;
            // A client must not address another app (dapr-app-id) or speak for another user.
            foreach (var name in headers.Select(h => h.Key).Where(IsDaprHeader).ToList())
            {
                headers.Remove(name);
            }

            if (!string.IsNullOrEmpty(daprApiToken))
            {
                headers.TryAddWithoutValidation("dapr-api-token", daprApiToken);
            }

            headers.Remove(UserIdHeader);
            if (transform.HttpContext.User.Identity?.IsAuthenticated == true)
            {
                headers.TryAddWithoutValidation(UserIdHeader, transform.HttpContext.User.UserId());
            }

            return ValueTask.CompletedTask;
        });

        context.AddResponseTransform(async transform =>
        {
            if (transform.ProxyResponse is not { StatusCode: HttpStatusCode.InternalServerError or HttpStatusCode.Forbidden } response
                || await DaprErrorAsync(response) is not (var code, var message))
            {
                return;
            }

            var appId = SidecarRoutes.AppIdOf(transform.HttpContext.GetReverseProxyFeature().Route.Config);
            var problem = (response.StatusCode, code) switch
            {
                (HttpStatusCode.InternalServerError, "ERR_DIRECT_INVOKE") => GatewayProblems.Create(
                    StatusCodes.Status503ServiceUnavailable, GatewayProblems.ServiceUnavailable,
                    $"{appId} is unavailable", $"The Dapr sidecar could not reach {appId}; try again shortly."),
                // The app's access policy does not let the gateway call that path: not part of the public API.
                (HttpStatusCode.Forbidden, "ERR_PERMISSION_DENIED") => GatewayProblems.Create(
                    StatusCodes.Status404NotFound, GatewayProblems.NotFound, "Not found", "The public API has no such resource."),
                _ => null,
            };
            if (problem is null)
            {
                return;
            }

            transform.SuppressResponseBody = true;
            transform.HttpContext.Response.Headers.Clear();
            // The sidecar's message names internal addresses and identities: logged, not shown.
            LogInvocationFailed(transform.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UpstreamTransforms)), appId, message);
            await GatewayProblems.WriteAsync(transform.HttpContext, problem);
        });
    }

    /// <summary>
    /// After the forwarder: the sidecar itself did not answer (502), did not answer in time (504) or
    /// there was nowhere to send the request (503). YARP leaves these with an empty body.
    /// </summary>
    public static async Task WriteForwarderProblemsAsync(HttpContext context, Func<Task> next)
    {
        await next();
        if (context.GetForwarderErrorFeature() is not { } failure || context.Response.HasStarted)
        {
            return;
        }

        var appId = SidecarRoutes.AppIdOf(context.GetReverseProxyFeature().Route.Config);
        var problem = failure.Error switch
        {
            ForwarderError.RequestTimedOut => GatewayProblems.Create(
                StatusCodes.Status504GatewayTimeout, GatewayProblems.GatewayTimeout,
                $"{appId} did not answer in time", "The request through the Dapr sidecar timed out; it may or may not have been processed."),
            ForwarderError.NoAvailableDestinations => GatewayProblems.Create(
                StatusCodes.Status503ServiceUnavailable, GatewayProblems.ServiceUnavailable,
                $"{appId} is unavailable", "No Dapr sidecar is configured for the gateway."),
            ForwarderError.RequestCanceled => null,
            // Kestrel's body limit (RequestLimits) stopped the client's body while it was being forwarded.
            ForwarderError.RequestBodyClient when IsBodyTooLarge(failure.Exception) =>
                GatewayProblems.Create(StatusCodes.Status413PayloadTooLarge, RequestSafetyExtensions.BodyTooLarge,
                    "The request body is too large", "The body is larger than this endpoint accepts."),
            _ => GatewayProblems.Create(
                StatusCodes.Status502BadGateway, GatewayProblems.BadGateway,
                $"{appId} could not be reached", $"The gateway's Dapr sidecar did not answer ({failure.Error})."),
        };
        if (problem is not null)
        {
            context.Response.Headers.Clear();
            await GatewayProblems.WriteAsync(context, problem);
        }
    }

    private static bool IsBodyTooLarge(Exception? exception) => exception switch
    {
        null => false,
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => true,
        _ => IsBodyTooLarge(exception.InnerException),
    };

    private static bool IsDaprHeader(string name) => name.StartsWith("dapr-", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// daprd's own error (<c>{"errorCode":"ERR_DIRECT_INVOKE","message":...}</c> with 500 for a failed invocation,
    /// <c>ERR_PERMISSION_DENIED</c> with 403 for a call its access policy refuses); an app's own answers pass through.
    /// </summary>
    private static async Task<(string Code, string Message)?> DaprErrorAsync(HttpResponseMessage response)
    {
        if (response.Content.Headers.ContentType?.MediaType != "application/json")
        {
            return null;
        }

        // Buffered: when this is the app's own error, the forwarder still copies the same bytes.
        var body = await response.Content.ReadAsStringAsync();
        try
        {
            using var json = JsonDocument.Parse(body);
            return json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("errorCode", out var code) && code.ValueKind == JsonValueKind.String
                && json.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? (code.GetString()!, message.GetString()!)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invocation of {AppId} refused or failed: {Message}")]
    private static partial void LogInvocationFailed(ILogger logger, string appId, string message);
}
