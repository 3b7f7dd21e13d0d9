namespace TicketSaga.OrderService;

/// <summary>Settings under <c>Orders</c> in configuration.</summary>
public sealed class OrderOptions
{
    public const string SectionName = "Orders";

    /// <summary>How long a hold lasts before the order expires (expires_at = now + this).</summary>
    public TimeSpan HoldDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The saga's own timer ends an order at expires_at + this, should the expiry message be lost.</summary>
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the sweeper looks for live orders whose saga is missing.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);
}
