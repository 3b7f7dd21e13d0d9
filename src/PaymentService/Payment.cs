using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

public static class PaymentStatuses
{
    /// <summary>Payable: no attempt yet, or the last one was declined.</summary>
    public const string Pending = "PENDING";

    /// <summary>Payable: the customer must authenticate (3D Secure); the webhook says how it ended.</summary>
    public const string RequiresAction = "REQUIRES_ACTION";

    public const string Succeeded = "SUCCEEDED";

    /// <summary>The order ended before any money was captured.</summary>
    public const string Cancelled = "CANCELLED";

    /// <summary>Money was captured and given back in full (the order ended without a sale).</summary>
    public const string Refunded = "REFUNDED";

    public static bool IsPayable(string status) => status is Pending or RequiresAction;
}

/// <summary>
/// One row of <c>payments</c>; <see cref="Expired"/> is computed by PostgreSQL's clock. <see cref="Ended"/>:
/// the order has ended, no attempt starts any more and payment_work settles whatever of it reached Stripe.
/// </summary>
public sealed record Payment(
    Guid PaymentId,
    Guid OrderId,
    string UserId,
    long? AmountMinor,
    string? Currency,
    DateTimeOffset? ExpiresAt,
    string Status,
    string? PaymentIntentId,
    int Attempt,
    string? AttemptPaymentMethod,
    bool AttemptInFlight,
    string? LastDeclineCode,
    bool Expired,
    bool Ended);

/// <summary>What Stripe said to an attempt that did not capture (<see cref="PaymentAttemptOutcomes"/>), kept in payment_attempts.</summary>
public sealed record AttemptEnd(string Outcome, string? DeclineCode = null, string? Message = null);
