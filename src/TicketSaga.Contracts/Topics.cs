namespace TicketSaga.Contracts;

/// <summary>Pub/sub component and topic names, identical in every environment.</summary>
public static class Topics
{
    public const string PubSub = "pubsub";

    public const string OrderCreated = "orders.order.created";
    public const string OrderCompleted = "orders.order.completed";
    public const string OrderCancelled = "orders.order.cancelled";
    public const string OrderRefunded = "orders.order.refunded";
    public const string PaymentSucceeded = "payments.payment.succeeded";
    public const string PaymentRefunded = "payments.payment.refunded";
    public const string ExpirationComplete = "expiration.order.expiration_complete";

    public static IReadOnlyList<string> All { get; } =
        [OrderCreated, OrderCompleted, OrderCancelled, OrderRefunded, PaymentSucceeded, PaymentRefunded, ExpirationComplete];

    /// <summary>Where a message goes after its retries are exhausted.</summary>
    public static string DeadLetter(string topic) => topic + ".dlq";
}
