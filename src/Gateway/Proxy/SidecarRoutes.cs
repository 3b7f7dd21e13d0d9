using System.Net;
using TicketSaga.Contracts;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;

namespace TicketSaga.Gateway.Proxy;

/// <summary>
/// The proxied public API. Every request goes to the gateway's own Dapr sidecar as HTTP service
/// invocation (<c>/v1.0/invoke/{app-id}/method/{path}</c>), so the same routes work on the embedded
/// runtime, with daprd on a laptop and on Kubernetes: only the sidecar knows where an app runs.
/// </summary>
public static class SidecarRoutes
{
    /// <summary>Route metadata naming the routes whose answers are kept per Idempotency-Key.</summary>
    public const string IdempotentMetadata = "Idempotent";

    public const string AnonymousPolicy = "anonymous";

    public const string StripeWebhookRoute = "payment-webhook";

    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        Route("create-order", AppIds.OrderService, "/orders", ["POST"], metadata: new Dictionary<string, string> { [IdempotentMetadata] = "true" }),
        // The methods of the public API only: any other is 404 here, not a refusal from the sidecar's access policy.
        Route("orders", AppIds.OrderService, "/orders/{**rest}", ["GET", "DELETE"]),
        // Stripe calls the webhook without a token; payment-service verifies the Stripe-Signature itself.
        Route(StripeWebhookRoute, AppIds.PaymentService, "/payments/webhook", ["POST"], AnonymousPolicy),
        Route("payments", AppIds.PaymentService, "/payments/{**rest}", ["GET", "POST"]),
    ];

    /// <summary>
    /// One cluster per app id, each the local sidecar's HTTP endpoint (HTTP/1.1: the Dapr HTTP port
    /// speaks no cleartext HTTP/2) over a bounded pool of kept-alive connections: requests beyond it wait
    /// for a connection instead of opening one each (Gateway:MaxOrdersInFlight bounds how many wait).
    /// </summary>
    public static IReadOnlyList<ClusterConfig> Clusters(string sidecar, GatewayOptions options) =>
    [
        .. new[] { AppIds.OrderService, AppIds.PaymentService }.Select(appId => new ClusterConfig
        {
            ClusterId = appId,
            Destinations = new Dictionary<string, DestinationConfig> { ["sidecar"] = new() { Address = sidecar } },
            HttpRequest = new ForwarderRequestConfig
            {
                ActivityTimeout = options.UpstreamTimeout,
                Version = HttpVersion.Version11,
                VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
            },
            HttpClient = new HttpClientConfig { MaxConnectionsPerServer = options.SidecarConnections },
        }),
    ];

    /// <summary>
    /// The webhook is anonymous and unthrottled, so a call without Stripe's signature is answered here, as
    /// payment-service would answer it, instead of costing a trip through the sidecar for nothing.
    /// </summary>
    public static Task RefuseUnsignedWebhooksAsync(HttpContext context, Func<Task> next) =>
        context.GetReverseProxyFeature().Route.Config.RouteId == StripeWebhookRoute && !context.Request.Headers.ContainsKey(StripeSignatureHeader)
            ? GatewayProblems.WriteAsync(context, GatewayProblems.Create(StatusCodes.Status400BadRequest, GatewayProblems.InvalidWebhookSignature,
                "The webhook signature is invalid", $"The {StripeSignatureHeader} header is missing."))
            : next();

    private const string StripeSignatureHeader = "Stripe-Signature";

    private static RouteConfig Route(
        string routeId, string appId, string path, IReadOnlyList<string>? methods = null, string policy = "default",
        IReadOnlyDictionary<string, string>? metadata = null) => new()
        {
            RouteId = routeId,
            ClusterId = appId,
            AuthorizationPolicy = policy,
            Match = new RouteMatch { Path = path, Methods = methods },
            Metadata = metadata,
            Transforms = [new Dictionary<string, string> { ["PathPrefix"] = $"/v1.0/invoke/{appId}/method" }],
        };
}
