namespace TicketSaga.Runtime.PubSub;

/// <summary>
/// Faults a chaos run switches on in the embedded runtime's pub/sub delivery (all off by default; real
/// brokers do both now and then): every acked message delivered once more, as after a lost ack; and a
/// random wait before each delivery, so that messages of different orders and topics (an order's
/// payment and its expiry) arrive out of publish order. One partition key's messages stay in order, as
/// on a Kafka partition.
/// </summary>
public sealed record DeliveryFaults
{
    public static readonly DeliveryFaults None = new();

    public bool DeliverTwice { get; init; }

    /// <summary>Zero: no wait.</summary>
    public TimeSpan MaxReorderDelay { get; init; }
}
