namespace TicketSaga.Outbox;

/// <summary>Settings under <c>Outbox</c> in configuration.</summary>
public sealed class OutboxOptions
{
    public const string SectionName = "Outbox";

    public int BatchSize { get; set; } = 100;

    /// <summary>How often to look for rows without a wake-up (rows written by other replicas).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts while the sidecar does not take messages.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromSeconds(5);
}
