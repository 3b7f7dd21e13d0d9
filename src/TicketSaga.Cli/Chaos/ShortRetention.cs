using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.Cli.Chaos;

/// <summary>
/// `up --retention 2m`: the retention rules of the README's table shortened to one period and swept
/// four times per period, so that a soak sees its tables shrink back within minutes (tombstones keep
/// their 48 h: venue-service wants them to outlive the longest hold).
/// </summary>
internal static class ShortRetention
{
    private static readonly string[] AppRules = ["outbox", "inbox", "payment-work"];
    private static readonly string[] RuntimeRules = ["pubsub-log", "dead-letters", "actor-state"];

    public static IReadOnlyDictionary<string, string> AppEnvironment(TimeSpan period)
    {
        var text = period.ToString("c");
        var environment = AppRules.ToDictionary(rule => $"Retention__Periods__{rule}", _ => text);
        environment["Retention__Interval"] = Interval(period).ToString("c");
        environment["Idempotency__KeyLifetime"] = text;
        environment["Idempotency__CleanupInterval"] = Interval(period).ToString("c");
        environment["Expiration__OutcomeRetention"] = text;
        return environment;
    }

    public static RetentionOptions Runtime(TimeSpan period) => new()
    {
        Interval = Interval(period),
        Periods = RuntimeRules.ToDictionary(rule => rule, _ => period),
    };

    private static TimeSpan Interval(TimeSpan period) => period / 4;
}
