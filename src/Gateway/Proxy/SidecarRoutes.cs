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

    /// <summary>Route metadata naming the app behind the route (its cluster may be shared or its own).</summary>
    private const string AppIdMetadata = "AppId";

    public const string AnonymousPolicy = "anonymous";

    public const string StripeWebhookRoute = "payment-webhook";

    /// <summary>The webhook's own connections to the sidecar (<see cref="StripeWebhookDoor"/>).</summary>
    private const string StripeWebhookCluster = "payment-webhook";

    public static IReadOnlyList<RouteConfig> Routes { get; } =
    [
        Route("create-order", AppIds.OrderService, "/orders", ["POST"], metadata: new Dictionary<string, string> { [IdempotentMetadata] = "true" }),
        // The methods of the public API only: any other is 404 here, not a refusal from the sidecar's access policy.
        Route("orders", AppIds.OrderService, "/orders/{**rest}", ["GET", "DELETE"]),
        // Stripe calls the webhook without a token; payment-service verifies the Stripe-Signature itself.
        Route(StripeWebhookRoute, AppIds.PaymentService, "/payments/webhook", ["POST"], AnonymousPolicy, cluster: StripeWebhookCluster),
        Route("payments", AppIds.PaymentService, "/payments/{**rest}", ["GET", "POST"]),
    ];

    /// <summary>
    /// One cluster per app id, each the local sidecar's HTTP endpoint (HTTP/1.1: the Dapr HTTP port
    /// speaks no cleartext HTTP/2) over a bounded pool of kept-alive connections: requests beyond it wait
    /// for a connection instead of opening one each (Gateway:MaxOrdersInFlight bounds how many wait).
    /// The anonymous webhook has a small pool of its own, so it never takes payment-service's.
    /// </summary>
    public static IReadOnlyList<ClusterConfig> Clusters(string sidecar, GatewayOptions options) =>
    [
        Cluster(AppIds.OrderService, sidecar, options, options.SidecarConnections),
        Cluster(AppIds.PaymentService, sidecar, options, options.SidecarConnections),
        Cluster(StripeWebhookCluster, sidecar, options, options.WebhookConnections),
    ];

    private static ClusterConfig Cluster(string clusterId, string sidecar, GatewayOptions options, int connections) => new()
    {
        ClusterId = clusterId,
        Destinations = new Dictionary<string, DestinationConfig> { ["sidecar"] = new() { Address = sidecar } },
        HttpRequest = new ForwarderRequestConfig
        {
            ActivityTimeout = options.UpstreamTimeout,
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        },
        HttpClient = new HttpClientConfig { MaxConnectionsPerServer = connections },
    };

    /// <summary>The app id a route forwards to.</summary>
    public static string AppIdOf(RouteConfig route) => route.Metadata![AppIdMetadata];

    private static RouteConfig Route(
        string routeId, string appId, string path, IReadOnlyList<string>? methods = null, string policy = "default",
        IReadOnlyDictionary<string, string>? metadata = null, string? cluster = null) => new()
        {
            RouteId = routeId,
            ClusterId = cluster ?? appId,
            AuthorizationPolicy = policy,
            Match = new RouteMatch { Path = path, Methods = methods },
            Metadata = new Dictionary<string, string>(metadata ?? new Dictionary<string, string>()) { [AppIdMetadata] = appId },
            Transforms = [new Dictionary<string, string> { ["PathPrefix"] = $"/v1.0/invoke/{appId}/method" }],
        };
}
