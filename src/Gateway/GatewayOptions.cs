namespace TicketSaga.Gateway;

/// <summary>Settings under <c>Gateway</c> in configuration.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "Gateway";

    /// <summary>How long the proxy waits for order-service or payment-service before answering 504.</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
