namespace TicketSaga.PaymentService;

/// <summary>
/// Settings under <c>Stripe</c> in configuration: the secret key and the webhook signing secret come
/// from configuration (environment <c>Stripe__ApiKey</c>, <c>Stripe__WebhookSecret</c>, or a secret
/// store), never from the repository, and are never logged. An empty <c>ApiBase</c> means Stripe itself.
/// </summary>
public sealed class StripeOptions
{
    public const string SectionName = "Stripe";

    public string ApiKey { get; set; } = "";

    public string WebhookSecret { get; set; } = "";

    public string? ApiBase { get; set; }

    /// <summary>Where Stripe sends the customer back after a redirect (3D Secure); none: stripe.js handles it in place.</summary>
    public string? ReturnUrl { get; set; }

    /// <summary>Stripe.net's own retries of a failed call (same Idempotency-Key, so never a second charge).</summary>
    public int MaxNetworkRetries { get; set; } = 2;

    public override string ToString() => $"Stripe at {(string.IsNullOrWhiteSpace(ApiBase) ? "api.stripe.com" : ApiBase)}";
}
