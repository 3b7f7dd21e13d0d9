namespace TicketSaga.Contracts;

/// <summary>
/// One try at paying an order, as payment-service recorded it (GET /internal/payments/{orderId}/attempts,
/// sidecar-only, oldest first; JSON in <see cref="EventJson"/>). <paramref name="Outcome"/> is null while
/// Stripe's answer is unknown; <paramref name="DeclineCode"/> and <paramref name="Message"/> say why an
/// attempt did not capture.
/// </summary>
public sealed record PaymentAttempt(
    int Attempt, DateTimeOffset StartedAt, string? Outcome, string? DeclineCode, string? Message, DateTimeOffset? EndedAt);

public static class PaymentAttemptOutcomes
{
    public const string Succeeded = "SUCCEEDED";

    /// <summary>The card was declined (including a failed 3D Secure authentication).</summary>
    public const string Declined = "DECLINED";

    public const string RequiresAction = "REQUIRES_ACTION";

    /// <summary>Stripe has not decided yet; its webhook will.</summary>
    public const string Processing = "PROCESSING";

    public const string InvalidPaymentMethod = "INVALID_PAYMENT_METHOD";

    /// <summary>Stripe refused the request itself (nothing was charged).</summary>
    public const string Rejected = "REJECTED";
}
