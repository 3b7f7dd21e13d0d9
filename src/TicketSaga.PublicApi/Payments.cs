using System.ComponentModel.DataAnnotations;

namespace TicketSaga.PublicApi;

// The public payment API of payment-service, as the service answers and the gateway documents it.

/// <param name="PaymentMethod">A Stripe PaymentMethod id, e.g. pm_card_visa.</param>
public sealed record ConfirmPaymentRequest([property: Uuid] string OrderId, [property: MaxLength(255)] string PaymentMethod);

/// <summary>What the client is told about its payment. Absent fields are unknown yet.</summary>
/// <param name="Status">payment-service's PaymentStatuses. PROCESSING only in the 202 answer of a confirm while Stripe has not
/// decided; GET /payments/{order_id} says PENDING until Stripe's answer settles it (SUCCEEDED, or payable again).</param>
/// <param name="LastDeclineCode">The decline code of the last declined attempt, kept after a later attempt succeeds.</param>
/// <param name="ClientSecret">When REQUIRES_ACTION, in the confirm answer only: what Stripe.js needs to let the customer
/// authenticate (GET /payments/{order_id} leaves it out; confirm again to get it).</param>
/// <param name="NextAction">When REQUIRES_ACTION, in the confirm answer only: what the client does next.</param>
public sealed record PaymentView(
    Guid OrderId,
    Guid PaymentId,
    [property: AllowedValues("PENDING", "REQUIRES_ACTION", "SUCCEEDED", "CANCELLED", "REFUNDED", "PROCESSING")]
    string Status,
    long? AmountMinor = null,
    string? Currency = null,
    string? PaymentIntentId = null,
    string? LastDeclineCode = null,
    string? ClientSecret = null,
    NextActionView? NextAction = null);

/// <summary>Stripe's next_action, reduced to what a client acts on (Stripe.js needs only the client secret).</summary>
/// <param name="Type">Stripe's next_action.type, e.g. use_stripe_sdk or redirect_to_url.</param>
/// <param name="RedirectUrl">When redirect_to_url: where to send the customer.</param>
public sealed record NextActionView(string Type, string? RedirectUrl = null);
