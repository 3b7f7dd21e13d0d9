using Spectre.Console;
using TicketSaga.StripeStub;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// `ticketsaga up` without a Stripe key (environment <c>Stripe__ApiKey</c>): the Stripe-compatible
/// stub in-process on port 12111 (<c>TICKETSAGA_STRIPE_STUB_PORT</c>) with a test key and webhook
/// secret made for this run, its webhooks POSTed to the gateway (<c>TICKETSAGA_STRIPE_WEBHOOK_URL</c>,
/// default http://127.0.0.1:5100/payments/webhook). With a key set, payment-service inherits the
/// Stripe__* environment and talks to Stripe itself.
/// </summary>
internal sealed class LocalStripe : IAsyncDisposable
{
    private const string DefaultWebhookUrl = "http://127.0.0.1:5100/payments/webhook";

    private readonly StripeStubServer _server;

    private LocalStripe(StripeStubServer server) => _server = server;

    /// <summary>What payment-service needs to use the stub.</summary>
    public IReadOnlyDictionary<string, string> PaymentServiceEnvironment => new Dictionary<string, string>
    {
        ["Stripe__ApiKey"] = _server.Options.ApiKey,
        ["Stripe__WebhookSecret"] = _server.Options.WebhookSecret,
        ["Stripe__ApiBase"] = _server.ApiBase,
    };

    public static async Task<LocalStripe?> StartUnlessConfiguredAsync()
    {
        if (!string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("Stripe__ApiKey")))
        {
            AnsiConsole.MarkupLine("[grey]Stripe:[/] the configured key (Stripe__ApiKey)");
            return null;
        }

        var port = int.TryParse(Environment.GetEnvironmentVariable("TICKETSAGA_STRIPE_STUB_PORT"), out var configured) ? configured : StripeStubOptions.DefaultPort;
        var webhookUrl = Environment.GetEnvironmentVariable("TICKETSAGA_STRIPE_WEBHOOK_URL") is { Length: > 0 } url ? url : DefaultWebhookUrl;
        var server = await StripeStubServer.StartAsync(new StripeStubOptions
        {
            Port = port,
            ApiKey = StripeStubOptions.NewApiKey(),
            WebhookSecret = StripeStubOptions.NewWebhookSecret(),
            WebhookUrl = new Uri(webhookUrl),
        });
        AnsiConsole.MarkupLineInterpolated($"[grey]Stripe:[/] local stub on {server.ApiBase} (test cards pm_card_visa, pm_card_chargeDeclined, pm_card_authenticationRequired; webhooks to {webhookUrl}; state in memory)");
        return new LocalStripe(server);
    }

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
