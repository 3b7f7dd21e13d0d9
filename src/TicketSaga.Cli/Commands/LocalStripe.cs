using Spectre.Console;
using TicketSaga.Runtime.Runner;
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

    /// <summary>What the gateway's storefront needs for the 3D Secure step of the stub's test cards.</summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironment => new Dictionary<string, string>
    {
        ["Storefront__TestStripeApiBase"] = _server.ApiBase,
        ["Storefront__TestStripeApiKey"] = _server.Options.ApiKey,
    };

    /// <summary>The stub's port, checked with the apps' before anything starts; none when a Stripe key is configured.</summary>
    public static IEnumerable<PortUse> PortsUnlessConfigured() => KeyConfigured ? [] : [Port];

    /// <exception cref="RunnerException">The stub's port is taken (one line naming the owner).</exception>
    public static async Task<LocalStripe?> StartUnlessConfiguredAsync()
    {
        if (KeyConfigured)
        {
            AnsiConsole.MarkupLine("[grey]Stripe:[/] the configured key (Stripe__ApiKey)");
            return null;
        }

        var webhookUrl = Environment.GetEnvironmentVariable("TICKETSAGA_STRIPE_WEBHOOK_URL") is { Length: > 0 } url ? url : DefaultWebhookUrl;
        StripeStubServer server;
        try
        {
            server = await StripeStubServer.StartAsync(new StripeStubOptions
            {
                Port = Port.Port,
                ApiKey = StripeStubOptions.NewApiKey(),
                WebhookSecret = StripeStubOptions.NewWebhookSecret(),
                WebhookUrl = new Uri(webhookUrl),
            });
        }
        catch (IOException)
        {
            // Taken since the check: say so in its one line rather than with Kestrel's stack trace.
            PortCheck.EnsureFree([Port]);
            throw;
        }

        AnsiConsole.MarkupLineInterpolated($"[grey]Stripe:[/] local stub on {server.ApiBase} (test cards pm_card_visa, pm_card_chargeDeclined, pm_card_authenticationRequired; webhooks to {webhookUrl}; state in memory)");
        return new LocalStripe(server);
    }

    private static bool KeyConfigured => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("Stripe__ApiKey"));

    private static PortUse Port => new(
        int.TryParse(Environment.GetEnvironmentVariable("TICKETSAGA_STRIPE_STUB_PORT"), out var configured) ? configured : StripeStubOptions.DefaultPort,
        "the local Stripe stub");

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}
