using System.Net.Http.Headers;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Gateway.Storefront;

/// <summary>
/// The browser storefront: static files from wwwroot (same origin as the API, nothing from a CDN) and the
/// few endpoints it needs besides the public API — its settings, the development sign-in, and the
/// 3D Secure step of the local Stripe stub's test cards.
/// </summary>
public static partial class StorefrontApi
{
    private const string TestStripeClient = "test-stripe";

    public static IHostApplicationBuilder AddStorefront(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<StorefrontOptions>()
            .BindConfiguration(StorefrontOptions.SectionName)
            .Validate(o => o.DevelopmentTokenLifetime > TimeSpan.Zero, "Storefront:DevelopmentTokenLifetime must be positive")
            .Validate(o => o.StripePublishableKey is null or "" || o.StripePublishableKey.StartsWith("pk_", StringComparison.Ordinal),
                "Storefront:StripePublishableKey must be a publishable key (pk_…), never a secret one")
            .Validate(o => !o.CompletesTestAuthentication || (Uri.TryCreate(o.TestStripeApiBase, UriKind.Absolute, out _)
                    && o.TestStripeApiKey?.StartsWith("sk_test_", StringComparison.Ordinal) == true),
                "Storefront:TestStripeApiBase needs an absolute URL and Storefront:TestStripeApiKey a test-mode key (sk_test_…)")
            .Validate(o => o.ConnectSources.All(source => BrowserPolicy.WebOrigin(source) is not null),
                "Storefront:ConnectSources must be absolute http(s) addresses, e.g. https://oauth2.googleapis.com")
            .ValidateOnStart();
        builder.Services.AddHttpClient(TestStripeClient, (sp, http) =>
        {
            var options = sp.GetRequiredService<IOptions<StorefrontOptions>>().Value;
            http.BaseAddress = new Uri(options.TestStripeApiBase!.TrimEnd('/') + "/");
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.TestStripeApiKey);
        });
        var sidecar = DaprSidecar.HttpEndpoint(builder.Configuration);
        var apiToken = DaprSidecar.ApiToken(builder.Configuration);
        builder.Services.AddSingleton(_ => new PaymentServiceClient(DaprClient.CreateInvokeHttpClient(AppIds.PaymentService, sidecar, apiToken)));
        return builder;
    }

    /// <summary>index.html at /, then the storefront's files (under <see cref="BrowserPolicy"/>); before the rate limiter, which is for the API.</summary>
    public static WebApplication UseStorefrontFiles(this WebApplication app)
    {
        app.UseDefaultFiles();
        app.UseStaticFiles(new StaticFileOptions
        {
            OnPrepareResponse = BrowserPolicy.StorefrontHeaders(BrowserPolicy.ContentSecurityPolicy(
                AuthSettings.From(app.Configuration).Authority, app.Services.GetRequiredService<IOptions<StorefrontOptions>>().Value.ConnectSources)),
        });
        return app;
    }

    public static WebApplication MapStorefrontApi(this WebApplication app)
    {
        var storefront = app.MapGroup("/storefront").WithTags("Storefront").ExcludeFromDescription();
        var auth = AuthSettings.From(app.Configuration);
        var options = app.Services.GetRequiredService<IOptions<StorefrontOptions>>().Value;
        var developmentSignIn = DevelopmentSignInEnabled(app.Environment, auth);
        // OIDC needs both the provider and the storefront's client id there; with either missing, tokens come from elsewhere.
        var oidcSignIn = !string.IsNullOrWhiteSpace(auth.Authority) && !string.IsNullOrWhiteSpace(options.OidcClientId);
        storefront.MapGet("/config", () => TypedResults.Ok(new StorefrontConfig(
            developmentSignIn ? "development" : oidcSignIn ? "oidc" : "none", auth.Authority, options.OidcClientId,
            string.IsNullOrWhiteSpace(options.StripePublishableKey) ? null : options.StripePublishableKey, options.CompletesTestAuthentication)))
            .AllowAnonymous();

        // Never mapped in production: AddJwtAuthentication refuses the development issuer outside Development.
        if (developmentSignIn)
        {
            storefront.MapPost("/sign-in", (DevelopmentSignInRequest body) => SignIn(body, auth, options)).AllowAnonymous();
            LogDevelopmentSignIn(app.Logger);
        }

        if (options.CompletesTestAuthentication)
        {
            storefront.MapPost("/test-authentication", CompleteTestAuthenticationAsync).RequireAuthorization();
        }

        return app;
    }

    /// <summary>A development signing key with the development issuer, in the Development environment, and no OIDC authority.</summary>
    public static bool DevelopmentSignInEnabled(IHostEnvironment environment, AuthSettings auth) =>
        environment.IsDevelopment() && string.IsNullOrWhiteSpace(auth.Authority) && !string.IsNullOrWhiteSpace(auth.SigningKey)
        && auth.Issuer == AuthSettings.DevelopmentIssuer;

    private static Results<Ok<DevelopmentSignIn>, ProblemHttpResult> SignIn(DevelopmentSignInRequest body, AuthSettings auth, StorefrontOptions options)
    {
        var userName = body.UserName?.Trim() ?? "";
        if (userName.Length is 0 or > 64 || !userName.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
        {
            return Problem(StatusCodes.Status400BadRequest, GatewayProblems.InvalidUserName, "Invalid user name",
                "A user name is 1 to 64 letters, digits, '-', '_' or '.'.");
        }

        var token = DevTokens.Create(auth, userName, options.DevelopmentTokenLifetime, name: userName);
        return TypedResults.Ok(new DevelopmentSignIn(token, userName, DateTimeOffset.UtcNow + options.DevelopmentTokenLifetime));
    }

    /// <summary>
    /// What the bank's 3D Secure page does for a test card: payment-service, asked with the buyer's own
    /// token, names the PaymentIntent (so only the order's owner gets this far); the stub then decides it
    /// and tells payment-service by webhook, as Stripe would.
    /// </summary>
    private static async Task<Results<Ok<TestAuthentication>, ProblemHttpResult>> CompleteTestAuthenticationAsync(
        TestAuthenticationRequest body, HttpContext http, PaymentServiceClient payments, IHttpClientFactory clients, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(body.OrderId, out var orderId) || body.Outcome is not ("succeed" or "fail"))
        {
            return Problem(StatusCodes.Status400BadRequest, GatewayProblems.InvalidTestAuthentication, "Invalid request",
                "order_id must be a UUID and outcome succeed or fail.");
        }

        using var read = new HttpRequestMessage(HttpMethod.Get, $"/payments/{orderId}");
        read.Headers.Authorization = AuthenticationHeaderValue.Parse(http.Request.Headers.Authorization.ToString());
        using var answer = await payments.Http.SendAsync(read, cancellationToken);
        var payment = answer.IsSuccessStatusCode ? await answer.Content.ReadFromJsonAsync<JsonElement>(cancellationToken) : default;
        if (payment.ValueKind != JsonValueKind.Object
            || payment.GetProperty("status").GetString() != "REQUIRES_ACTION"
            || !payment.TryGetProperty("payment_intent_id", out var intent) || intent.GetString() is not { } paymentIntentId)
        {
            return Problem(StatusCodes.Status409Conflict, GatewayProblems.NoAuthenticationPending, "Nothing to authenticate",
                $"Order {orderId} has no payment waiting for 3D Secure.");
        }

        using var complete = await clients.CreateClient(TestStripeClient).PostAsync(
            $"v1/payment_intents/{Uri.EscapeDataString(paymentIntentId)}/test_complete_authentication",
            new FormUrlEncodedContent(new Dictionary<string, string> { ["outcome"] = body.Outcome }), cancellationToken);
        if (!complete.IsSuccessStatusCode)
        {
            return Problem(StatusCodes.Status409Conflict, GatewayProblems.NoAuthenticationPending, "Nothing to authenticate",
                $"Stripe no longer waits for 3D Secure on {paymentIntentId}.");
        }

        var completed = await complete.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
        return TypedResults.Ok(new TestAuthentication(paymentIntentId, completed.GetProperty("status").GetString() ?? ""));
    }

    private static ProblemHttpResult Problem(int status, string type, string title, string detail) =>
        TypedResults.Problem(GatewayProblems.Create(status, type, title, detail));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Development sign-in is on (/storefront/sign-in): anyone can get a token for any user name with the development signing key")]
    private static partial void LogDevelopmentSignIn(ILogger logger);
}

/// <summary>payment-service through the gateway's own sidecar (service invocation).</summary>
public sealed record PaymentServiceClient(HttpClient Http);
