using TicketSaga.Contracts;

namespace TicketSaga.OrderService.Orders;

public sealed record OrderSeat(Guid SeatId, string Label);

/// <summary>
/// An order as stored: the hold it owns (reservation_id) and where the saga left it.
/// <see cref="PaidInTime"/>: a payment captured at or before expires_at has been recorded for it.
/// </summary>
public sealed record Order(
    Guid OrderId,
    string UserId,
    Guid TicketId,
    Guid ReservationId,
    int Qty,
    Guid? SeatPlanId,
    IReadOnlyList<OrderSeat> Seats,
    long AmountMinor,
    string Currency,
    string Status,
    string? CancellationReason,
    DateTimeOffset ExpiresAt,
    DateTimeOffset CreatedAt,
    bool PaidInTime = false)
{
    /// <summary>Not yet CONFIRMED, EXPIRED or CANCELLED: its saga still decides.</summary>
    public bool IsLive => Status == OrderStatuses.Pending;

    /// <summary>Whether money of this amount and currency (payment or refund) is exactly what the order costs.</summary>
    public bool Costs(long amountMinor, string currency) =>
        amountMinor == AmountMinor && string.Equals(currency, Currency, StringComparison.OrdinalIgnoreCase);
}
