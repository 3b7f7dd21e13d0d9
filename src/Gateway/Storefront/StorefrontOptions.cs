namespace TicketSaga.Gateway.Storefront;

/// <summary>Settings under <c>Storefront</c>: what the browser storefront needs beyond the API.</summary>
public sealed class StorefrontOptions
{
    public const string SectionName = "Storefront";

    /// <summary>The storefront's client id at the OIDC provider of <c>Auth:Authority</c> (authorization code + PKCE).</summary>
    public string? OidcClientId { get; set; }

    /// <summary>A real Stripe publishable key (pk_…): the order page then pays with Stripe.js's Payment Element.</summary>
    public string? StripePublishableKey { get; set; }

    /// <summary>
    /// The local Stripe stub (test mode) and its secret key: the storefront's 3D Secure step completes the
    /// authentication there, as the bank's page would. Unset with a real Stripe account.
    /// </summary>
    public string? TestStripeApiBase { get; set; }

    public string? TestStripeApiKey { get; set; }

    /// <summary>
    /// Origins the storefront's pages may fetch from besides the API, Stripe and <c>Auth:Authority</c>'s origin
    /// (the Content-Security-Policy's connect-src): a provider whose token endpoint is elsewhere (Google's is
    /// https://oauth2.googleapis.com) names it here.
    /// </summary>
    public string[] ConnectSources { get; set; } = [];

    /// <summary>How long a development sign-in's token lasts.</summary>
    public TimeSpan DevelopmentTokenLifetime { get; set; } = TimeSpan.FromHours(8);

    public bool CompletesTestAuthentication => !string.IsNullOrWhiteSpace(TestStripeApiBase);
}
