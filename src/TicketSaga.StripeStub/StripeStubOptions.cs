using System.Security.Cryptography;

namespace TicketSaga.StripeStub;

public sealed record StripeStubOptions
{
    public const int DefaultPort = 12111;

    /// <summary>Loopback port to listen on; 0 picks a free one (see <see cref="StripeStubServer.ApiBase"/>).</summary>
    public int Port { get; init; } = DefaultPort;

    /// <summary>The only secret key accepted (<c>Authorization: Bearer sk_test_...</c>).</summary>
    public string ApiKey { get; init; } = "";

    /// <summary>Signs webhooks (<c>whsec_...</c>), as a webhook endpoint's signing secret does.</summary>
    public string WebhookSecret { get; init; } = "";

    /// <summary>Where events are POSTed; none: events are only recorded.</summary>
    public Uri? WebhookUrl { get; init; }

    /// <summary>
    /// A file that keeps PaymentIntents, refunds, events and idempotent answers across restarts (even a
    /// SIGKILL: every change is fsynced before it is answered); none: state in memory only.
    /// </summary>
    public string? JournalPath { get; init; }

    /// <summary>The api_version stamped on events (Stripe.net 53.1.0 accepts only its own, ending in <c>.endive</c>).</summary>
    public string ApiVersion { get; init; } = "2026-10-28.endive";

    /// <summary>
    /// How long raised events and their deliveries stay readable in memory (<see cref="EventLog.Events"/>,
    /// <see cref="EventLog.Resend"/>); the journal keeps them all. Stripe keeps events 30 days, but the
    /// stub's API lists none, so a long-running stub would hold them for nobody.
    /// </summary>
    public TimeSpan EventHistory { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long an idempotent answer is kept for replay: Stripe removes keys at least 24 hours old.</summary>
    public TimeSpan IdempotencyKeyRetention { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Delays between webhook delivery attempts (Stripe retries for days; a stub needs seconds).</summary>
    public IReadOnlyList<TimeSpan> WebhookRetryDelays { get; init; } =
        [.. new[] { 0.2, 0.5, 1, 2, 4, 8 }.Select(TimeSpan.FromSeconds)];

    public static string NewApiKey() => "sk_test_" + RandomToken();

    public static string NewWebhookSecret() => "whsec_" + RandomToken();

    private static string RandomToken() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
}
