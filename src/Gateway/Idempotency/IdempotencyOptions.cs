namespace TicketSaga.Gateway.Idempotency;

/// <summary>Settings under <c>Idempotency</c> in configuration.</summary>
public sealed class IdempotencyOptions
{
    public const string SectionName = "Idempotency";

    /// <summary>How long a key answers with its first response.</summary>
    public TimeSpan KeyLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long a request in flight owns its key; longer than Gateway:UpstreamTimeout.</summary>
    public TimeSpan InFlightLock { get; set; } = TimeSpan.FromMinutes(1);

    public TimeSpan CleanupInterval { get; set; } = TimeSpan.FromMinutes(10);
}
