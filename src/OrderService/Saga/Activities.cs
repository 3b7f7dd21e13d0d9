using Dapr.Workflow;
using Grpc.Core;
using TicketSaga.OrderService.Orders;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Saga;

public sealed record FinalizeHold(Guid OrderId, Guid ReservationId);

public sealed record ReleaseHold(Guid ReservationId, HoldReleaseReason Reason);

public sealed record EndOrder(Guid OrderId, string Status, string Reason);

public enum HoldReleaseReason
{
    Expired,
    Cancelled,
}

public enum HoldOutcome
{
    /// <summary>Finalized or released (now or by an earlier attempt).</summary>
    Done,

    /// <summary>Finalize: the hold is gone (released or reclaimed); release: it was already sold.</summary>
    Gone,
}

// Activities are retried (OrderSaga.Retry) and replayed after a crash: each one is idempotent because
// ticket-service and venue-service are idempotent by reservation_id and the order updates are conditional.

internal sealed class FinalizeReservationActivity(Tickets.TicketsClient tickets, ILogger<FinalizeReservationActivity> logger)
    : WorkflowActivity<FinalizeHold, HoldOutcome>
{
    public override async Task<HoldOutcome> RunAsync(WorkflowActivityContext context, FinalizeHold hold)
    {
        try
        {
            await tickets.FinalizeReservationAsync(new FinalizeReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                OrderId = hold.OrderId.ToString(),
            });
            return HoldOutcome.Done;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            logger.LogWarning("Quota hold {ReservationId} cannot be finalized: {Detail}", hold.ReservationId, ex.Status.Detail);
            return HoldOutcome.Gone;
        }
    }
}

internal sealed class FinalizeSeatReservationActivity(Venues.VenuesClient venues, ILogger<FinalizeSeatReservationActivity> logger)
    : WorkflowActivity<FinalizeHold, HoldOutcome>
{
    public override async Task<HoldOutcome> RunAsync(WorkflowActivityContext context, FinalizeHold hold)
    {
        try
        {
            await venues.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                OrderId = hold.OrderId.ToString(),
            });
            return HoldOutcome.Done;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            // The quota is already sold at this point and ticket.proto has no way back: an operator must see this.
            logger.LogError("Seat hold {ReservationId} cannot be finalized after its quota was: {Detail}", hold.ReservationId, ex.Status.Detail);
            return HoldOutcome.Gone;
        }
    }
}

internal sealed class ReleaseReservationActivity(Tickets.TicketsClient tickets, ILogger<ReleaseReservationActivity> logger)
    : WorkflowActivity<ReleaseHold, HoldOutcome>
{
    public override async Task<HoldOutcome> RunAsync(WorkflowActivityContext context, ReleaseHold hold)
    {
        try
        {
            // An already released (or reclaimed) hold answers with its first release, a never-held one with
            // an empty release (its tombstone): nothing to tell apart.
            await tickets.ReleaseReservationAsync(new ReleaseReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                Reason = hold.Reason == HoldReleaseReason.Cancelled ? ReleaseReason.Cancelled : ReleaseReason.Expired,
            });
            return HoldOutcome.Done;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            logger.LogError("Quota hold {ReservationId} was sold and cannot be released: {Detail}", hold.ReservationId, ex.Status.Detail);
            return HoldOutcome.Gone;
        }
    }
}

internal sealed class ReleaseSeatReservationActivity(Venues.VenuesClient venues, ILogger<ReleaseSeatReservationActivity> logger)
    : WorkflowActivity<ReleaseHold, HoldOutcome>
{
    public override async Task<HoldOutcome> RunAsync(WorkflowActivityContext context, ReleaseHold hold)
    {
        try
        {
            await venues.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                Reason = hold.Reason == HoldReleaseReason.Cancelled ? SeatReleaseReason.Cancelled : SeatReleaseReason.Expired,
            });
            return HoldOutcome.Done;
        }
        // AlreadyExists: released earlier with another reason.
        catch (RpcException ex) when (ex.StatusCode == StatusCode.AlreadyExists)
        {
            return HoldOutcome.Done;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
        {
            logger.LogError("Seat hold {ReservationId} was sold and cannot be released: {Detail}", hold.ReservationId, ex.Status.Detail);
            return HoldOutcome.Gone;
        }
    }
}

/// <summary>CONFIRMED + orders.order.completed in one transaction; answers the status the order ends with.</summary>
public sealed class ConfirmOrderActivity(OrderStore orders) : WorkflowActivity<Guid, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, Guid orderId) => orders.ConfirmAsync(orderId, CancellationToken.None);
}

/// <summary>EXPIRED/CANCELLED + orders.order.cancelled in one transaction; answers the status the order ends with.</summary>
public sealed class EndOrderActivity(OrderStore orders) : WorkflowActivity<EndOrder, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, EndOrder end) =>
        orders.EndAsync(end.OrderId, end.Status, end.Reason, CancellationToken.None);
}
