namespace TicketSaga.VenueService;

/// <summary>Settings under <c>Venue</c> in configuration.</summary>
public sealed class VenueOptions
{
    public const string SectionName = "Venue";

    /// <summary>How long past its expires_at a hold nobody released is kept before it is reclaimed.</summary>
    public TimeSpan AbandonedHoldGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How often each replica runs a reclaim pass.</summary>
    public TimeSpan ReclaimInterval { get; set; } = TimeSpan.FromSeconds(30);

    public int MaxSeatsPerReservation { get; set; } = 100;

    /// <summary>The furthest ahead a hold may expire; a longer hold would keep seats off sale.</summary>
    public TimeSpan MaxHoldDuration { get; set; } = TimeSpan.FromHours(24);

    /// <summary>
    /// How long the release of an unknown reservation_id keeps refusing a late reserve under it: a day past
    /// the longest hold; then it is forgotten, keeping the table bounded.
    /// </summary>
    public TimeSpan TombstoneRetention { get; set; } = TimeSpan.FromHours(48);
}
