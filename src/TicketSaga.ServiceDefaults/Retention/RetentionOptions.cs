namespace TicketSaga.ServiceDefaults.Retention;

/// <summary>Settings under <c>Retention</c> in configuration.</summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Retention";

    /// <summary>How often the sweeper deletes what has outlived its period.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Rows deleted per statement, so that a large backlog never holds long locks.</summary>
    public int BatchSize { get; set; } = 5_000;

    /// <summary>A rule's period by its name (<c>Retention:Periods:outbox = 1.00:00:00</c>), instead of its default.</summary>
    public Dictionary<string, TimeSpan> Periods { get; set; } = [];
}
