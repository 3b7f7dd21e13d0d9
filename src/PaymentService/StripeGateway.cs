using Microsoft.Extensions.Options;
using Stripe;

namespace TicketSaga.PaymentService;

/// <summary>
/// The Stripe calls of a payment, each with an idempotency key derived from the order: a retried call
/// (ours or Stripe.net's) is answered from Stripe's record instead of charging, cancelling or refunding twice.
/// </summary>
public sealed class StripeGateway(StripeClient client, IOptions<StripeOptions> options)
{
    public const string OrderIdKey = "order_id";
    public const string PaymentIdKey = "payment_id";

    private PaymentIntentService Intents => client.V1.PaymentIntents;

    /// <summary>Attempt n of an order: a new card after a decline is a new attempt, a retry of the same request is not.</summary>
    public static string AttemptKey(Guid orderId, int attempt) => $"order-{orderId}-attempt-{attempt}";

    /// <summary>
    /// The PaymentIntent the order's attempt n creates when it has none: a retry gets the same one, and an attempt
    /// after the intent was cancelled at Stripe (and forgotten here) creates a new one.
    /// </summary>
    public static string IntentKey(Guid orderId, int attempt) => $"order-{orderId}-intent-{attempt}";

    /// <summary>
    /// Creates the order's PaymentIntent unconfirmed, which moves no money: its id is stored before any confirm,
    /// so money only ever moves on an intent this service knows. Amount and currency are ours. The payment method
    /// is attached already, so one Stripe does not know fails here and leaves no intent behind; the return URL
    /// goes with the confirm (Stripe takes it at creation only with confirm=true).
    /// </summary>
    public Task<PaymentIntent> CreateAsync(Payment payment, string paymentMethod, int attempt, CancellationToken cancellationToken) =>
        Intents.CreateAsync(
            new PaymentIntentCreateOptions
            {
                Amount = payment.AmountMinor,
                Currency = payment.Currency!.ToLowerInvariant(),
                PaymentMethod = paymentMethod,
                AutomaticPaymentMethods = new PaymentIntentAutomaticPaymentMethodsOptions
                {
                    Enabled = true,
                    AllowRedirects = string.IsNullOrWhiteSpace(options.Value.ReturnUrl) ? "never" : "always",
                },
                Metadata = new Dictionary<string, string>
                {
                    [OrderIdKey] = payment.OrderId.ToString(),
                    [PaymentIdKey] = payment.PaymentId.ToString(),
                },
            },
            new RequestOptions { IdempotencyKey = IntentKey(payment.OrderId, attempt) },
            cancellationToken);

    /// <summary>Every attempt confirms the order's stored PaymentIntent with its payment method: one order, one intent, at most one capture.</summary>
    public Task<PaymentIntent> ConfirmAsync(Payment payment, string paymentMethod, int attempt, CancellationToken cancellationToken) =>
        Intents.ConfirmAsync(
            payment.PaymentIntentId!,
            new PaymentIntentConfirmOptions { PaymentMethod = paymentMethod, ReturnUrl = NullIfEmpty(options.Value.ReturnUrl) },
            new RequestOptions { IdempotencyKey = AttemptKey(payment.OrderId, attempt) },
            cancellationToken);

    public Task<PaymentIntent> RetrieveAsync(string paymentIntentId, CancellationToken cancellationToken) =>
        Intents.GetAsync(paymentIntentId, cancellationToken: cancellationToken);

    public Task<PaymentIntent> CancelAsync(Payment payment, CancellationToken cancellationToken) =>
        Intents.CancelAsync(
            payment.PaymentIntentId!,
            new PaymentIntentCancelOptions { CancellationReason = "abandoned" },
            new RequestOptions { IdempotencyKey = $"order-{payment.OrderId}-cancel-{payment.PaymentIntentId}" },
            cancellationToken);

    /// <summary>Gives the whole amount back; one refund per order, so the key is the order's.</summary>
    public Task<Refund> RefundAsync(Payment payment, string paymentIntentId, CancellationToken cancellationToken) =>
        client.V1.Refunds.CreateAsync(
            new RefundCreateOptions
            {
                PaymentIntent = paymentIntentId,
                Metadata = new Dictionary<string, string> { [OrderIdKey] = payment.OrderId.ToString() },
            },
            new RequestOptions { IdempotencyKey = $"order-{payment.OrderId}-refund" },
            cancellationToken);

    /// <summary>
    /// Stripe refused the request itself (a parameter it will not accept): nothing happened at Stripe, and
    /// sending the same request again gets the same answer. Not a card's decline, not a state conflict.
    /// </summary>
    public static bool IsRefusal(StripeException exception) =>
        exception.StripeError is { Type: "invalid_request_error" } error
        && error.Code != "payment_intent_unexpected_state"
        && (int)exception.HttpStatusCode is >= 400 and < 500 and not 401 and not 403 and not 409 and not 429;

    private static string? NullIfEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;
}
