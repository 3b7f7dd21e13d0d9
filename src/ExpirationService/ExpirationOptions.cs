namespace TicketSaga.ExpirationService;

/// <summary>Settings under <c>Expiration</c> in configuration.</summary>
public sealed class ExpirationOptions
{
    public const string SectionName = "Expiration";

    /// <summary>
    /// How long a hold timer remembers how its hold ended (actor state with a TTL, then deleted by the
    /// runtime): it only has to outlive late or redelivered events of its order.
    /// </summary>
    public TimeSpan OutcomeRetention { get; set; } = TimeSpan.FromDays(7);
}
