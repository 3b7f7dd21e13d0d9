namespace TicketSaga.OrderService.Orders;

/// <summary>
/// Which live orders one pass of the saga sweeper looks at: those placed before
/// <see cref="PlacedBefore"/> and, unless <see cref="PlacedSince"/> is null (every live order), only
/// those placed since then, those that expired before <see cref="ExpiredBefore"/>, and the orders of
/// <see cref="Slice"/> (one of <see cref="Slices"/>).
/// </summary>
public sealed record LiveOrderSweep(DateTimeOffset PlacedBefore, DateTimeOffset? PlacedSince, DateTimeOffset ExpiredBefore, int Slice)
{
    public const int Slices = 10;
}
