namespace TicketSaga.PaymentService;

/// <summary>
/// Section <c>Stripe</c>: the secret key and the webhook signing secret come from configuration
/// (environment <c>Stripe__ApiKey</c>, <c>Stripe__WebhookSecret</c>, or a secret store), never from
/// the repository, and are never logged. An empty <c>ApiBase</c> means Stripe itself.
/// </summary>
public sealed class StripeSettings
{
    public string ApiKey { get; init; } = "";

    public string WebhookSecret { get; init; } = "";

    public string? ApiBase { get; init; }

    /// <summary>Where Stripe sends the customer back after a redirect (3D Secure); none: stripe.js handles it in place.</summary>
    public string? ReturnUrl { get; init; }

    /// <summary>Stripe.net's own retries of a failed call (same Idempotency-Key, so never a second charge).</summary>
    public int MaxNetworkRetries { get; init; } = 2;

    public static StripeSettings From(IConfiguration configuration)
    {
        var settings = configuration.GetSection("Stripe").Get<StripeSettings>() ?? new StripeSettings();
        return string.IsNullOrWhiteSpace(settings.ApiKey) || string.IsNullOrWhiteSpace(settings.WebhookSecret)
            ? throw new InvalidOperationException("Set Stripe:ApiKey and Stripe:WebhookSecret (environment Stripe__ApiKey, Stripe__WebhookSecret).")
            : settings;
    }

    public override string ToString() => $"Stripe at {(string.IsNullOrWhiteSpace(ApiBase) ? "api.stripe.com" : ApiBase)}";
}
