namespace TicketSaga.Gateway.Storefront;

/// <summary>GET /storefront/config: how the storefront signs in and pays here.</summary>
/// <param name="SignIn">development (a user name gets a token from this gateway), oidc (a redirect to <paramref name="Authority"/>),
/// or none (tokens come from elsewhere, e.g. a signing key of one's own).</param>
/// <param name="TestCards">Whether payments go to the local Stripe stub, whose test cards and 3D Secure step the page offers.</param>
public sealed record StorefrontConfig(string SignIn, string? Authority, string? OidcClientId, string? StripePublishableKey, bool TestCards);

public sealed record DevelopmentSignInRequest(string UserName);

public sealed record DevelopmentSignIn(string Token, string UserId, DateTimeOffset ExpiresAt);

/// <param name="Outcome">succeed or fail: what the customer does on the bank's 3D Secure page.</param>
public sealed record TestAuthenticationRequest(string OrderId, string Outcome);

public sealed record TestAuthentication(string PaymentIntentId, string Status);
