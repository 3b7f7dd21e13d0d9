namespace TicketSaga.OrderService.Saga;

public sealed record FinalizeHold(Guid OrderId, Guid ReservationId);

/// <param name="OrderId">A reservation finalized for this order is given back too: the order ends unsold.</param>
public sealed record ReleaseHold(Guid OrderId, Guid ReservationId, HoldReleaseReason Reason);

public sealed record EndOrder(Guid OrderId, string Status, string Reason);

public enum HoldReleaseReason
{
    Expired,
    Cancelled,
}
