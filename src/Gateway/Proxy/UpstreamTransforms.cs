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
            if (transform.ProxyResponse is { StatusCode: HttpStatusCode.InternalServerError } response
                && await InvocationErrorAsync(response) is { } message)
            {
                transform.SuppressResponseBody = true;
                transform.HttpContext.Response.Headers.Clear();
                var appId = transform.HttpContext.GetReverseProxyFeature().Route.Config.ClusterId!;
                // The sidecar's message names internal addresses: logged, not shown.
                LogInvocationFailed(transform.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(UpstreamTransforms)), appId, message);
                await GatewayProblems.WriteAsync(transform.HttpContext, GatewayProblems.Create(
                    StatusCodes.Status503ServiceUnavailable, GatewayProblems.ServiceUnavailable,
                    $"{appId} is unavailable", $"The Dapr sidecar could not reach {appId}; try again shortly."));
            }
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

        var appId = context.GetReverseProxyFeature().Route.Config.ClusterId;
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

    /// <summary>daprd answers a failed invocation with 500 and <c>{"errorCode":"ERR_DIRECT_INVOKE",...}</c>; an app's own 500 passes through.</summary>
    private static async Task<string?> InvocationErrorAsync(HttpResponseMessage response)
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
                && json.RootElement.TryGetProperty("errorCode", out var code) && code.GetString() == "ERR_DIRECT_INVOKE"
                && json.RootElement.TryGetProperty("message", out var message)
                ? message.GetString()
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Invocation of {AppId} failed: {Message}")]
    private static partial void LogInvocationFailed(ILogger logger, string appId, string message);
}
