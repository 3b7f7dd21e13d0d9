namespace TicketSaga.OrderService;

/// <summary>Settings under <c>Orders</c> in configuration.</summary>
public sealed class OrderOptions
{
    public const string SectionName = "Orders";

    /// <summary>How long a hold lasts before the order expires (expires_at = now + this).</summary>
    public TimeSpan HoldDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How long after the expiry a payment captured at or before expires_at may take to arrive: the saga
    /// compensates only then. Also its own backstop: it ends the order at expires_at + this should the
    /// expiry message be lost. Covers the outbox relay and the three delivery retries (2 s, 8 s, 30 s);
    /// must stay well below the services' AbandonedHoldGrace (2 min).
    /// </summary>
    public TimeSpan SettleWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How often the sweepers look for live orders whose saga (or refund) is missing. Zero turns them off:
    /// orders still end, since every signal (payment, expiry, cancel) starts a missing saga first.
    /// </summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);
}
