namespace TicketSaga.OrderService.Saga;

public sealed record FinalizeHold(Guid OrderId, Guid ReservationId);

/// <param name="OrderId">A reservation finalized for this order is given back too: the order ends unsold.</param>
/// <param name="Status">EXPIRED or CANCELLED; a cancelled order's holds are released as cancelled, any other as expired.</param>
public sealed record CompensateOrder(Guid OrderId, Guid ReservationId, bool HasSeats, string Status, string Reason);
