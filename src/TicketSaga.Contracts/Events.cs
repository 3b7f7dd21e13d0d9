namespace TicketSaga.Contracts;

// Integration events: the data of the CloudEvents on the topics in Topics. Money in minor units
// plus ISO 4217 currency; times in UTC. Serialized with the Dapr SDK's web defaults (camelCase).

/// <summary>orders.order.created: a hold was placed and the order is PENDING until expires_at.</summary>
public sealed record OrderCreated(
    Guid OrderId,
    string UserId,
    Guid TicketId,
    int Qty,
    IReadOnlyList<Guid> SeatIds,
    long AmountMinor,
    string Currency,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CreatedAt);

/// <summary>orders.order.completed: the order is CONFIRMED (tickets and seats sold).</summary>
public sealed record OrderCompleted(Guid OrderId, string UserId, DateTimeOffset CompletedAt);

/// <summary>orders.order.cancelled: the order ended without a sale; any captured money must be refunded.</summary>
public sealed record OrderCancelled(Guid OrderId, string UserId, string Reason, DateTimeOffset CancelledAt);

/// <summary>
/// orders.order.refunded: a CONFIRMED order's payment was refunded (payments.payment.refunded) and its
/// quota and seats are back in stock; the order is REFUNDED. Nothing is left to give back.
/// </summary>
public sealed record OrderRefunded(Guid OrderId, string UserId, string RefundId, long AmountMinor, string Currency, DateTimeOffset RefundedAt);

/// <summary>Why an order was cancelled (<see cref="OrderCancelled.Reason"/>).</summary>
public static class CancellationReasons
{
    public const string Expired = "EXPIRED";
    public const string CancelledByCustomer = "CANCELLED";

    /// <summary>A payment arrived for an order that had already ended: refund it.</summary>
    public const string PaymentAfterEnd = "PAYMENT_AFTER_END";
}

/// <summary>payments.payment.succeeded: money for the order was captured.</summary>
public sealed record PaymentSucceeded(
    Guid OrderId,
    Guid PaymentId,
    string PaymentIntentId,
    long AmountMinor,
    string Currency,
    DateTimeOffset SucceededAt);

/// <summary>payments.payment.refunded: captured money was given back.</summary>
public sealed record PaymentRefunded(
    Guid OrderId,
    Guid PaymentId,
    string PaymentIntentId,
    string RefundId,
    long AmountMinor,
    string Currency,
    DateTimeOffset RefundedAt);

/// <summary>expiration.order.expiration_complete: the order's hold timer fired.</summary>
public sealed record ExpirationComplete(Guid OrderId, DateTimeOffset ExpiresAt);

/// <summary>Order statuses as stored and shown in the public API.</summary>
public static class OrderStatuses
{
    public const string Pending = "PENDING";
    public const string Confirmed = "CONFIRMED";
    public const string Expired = "EXPIRED";
    public const string Cancelled = "CANCELLED";

    /// <summary>Was CONFIRMED; its payment was refunded and its quota and seats went back to stock.</summary>
    public const string Refunded = "REFUNDED";
}
