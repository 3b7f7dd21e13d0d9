namespace TicketSaga.Gateway;

/// <summary>Settings under <c>Gateway</c> in configuration.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>How long the proxy waits for order-service or payment-service before answering 504.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Kept-alive connections to the sidecar, at most, per app behind it; a request beyond them waits for
    /// one to be free instead of opening another (one per request ran the machine out of file handles).
    /// </summary>
    public int SidecarConnections { get; set; } = 64;

    /// <summary>
    /// POST /orders forwarded at once, at most. Beyond it a buyer is queued in the waiting room (when
    /// on for the event) or answered 503 with Retry-After at once: overload costs nothing held.
    /// </summary>
    public int MaxOrdersInFlight { get; set; } = 128;

    /// <summary>
    /// Availability reads of a ticket type suspected sold out start at least this far apart; buyers
    /// arriving meanwhile share the next one. Their sold-out answer waits up to this long, and a rush
    /// costs at most one read per spacing instead of one per buyer. Zero: each read starts as soon as the one before it ends.
    /// </summary>
    public TimeSpan SoldOutReadSpacing { get; set; } = TimeSpan.FromMilliseconds(25);

    /// <summary>Connections to the sidecar for Stripe's webhook, apart from payment-service's <see cref="SidecarConnections"/>.</summary>
    public int WebhookConnections { get; set; } = 8;

    /// <summary>Stripe webhook calls read and forwarded at once, at most; beyond, 503 with Retry-After (Stripe sends them again).</summary>
    public int MaxWebhooksInFlight { get; set; } = 32;

    /// <summary>The Retry-After of an overload answer.</summary>
    public TimeSpan OverloadRetryAfter { get; set; } = TimeSpan.FromSeconds(1);
}
