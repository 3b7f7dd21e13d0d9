using Dapr.Workflow;
using Grpc.Core;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// Ends an unsold order: gives its quota and seats back, sold or held, side by side, and only then
/// ends it (EXPIRED/CANCELLED + orders.order.cancelled in one transaction), so an ended order always
/// has its stock back. One activity, not three: an expiry storm is thousands of these at once, and every
/// activity costs the saga a round trip through the workflow engine. Every step may run again on a
/// retry: a released hold answers with its first release, and an ended order keeps its end.
/// </summary>
internal sealed class CompensateOrderActivity(
    Tickets.TicketsClient tickets, Venues.VenuesClient venues, OrderStore orders, ILogger<CompensateOrderActivity> logger)
    : WorkflowActivity<CompensateOrder, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, CompensateOrder order)
    {
        // Only a PENDING order is compensated. One that ended had its stock back before it ended; one that was sold
        // keeps its stock, even when a saga runs over it again (a completed instance replaced by a late scheduler).
        if (await orders.GetAsync(order.OrderId, CancellationToken.None) is { Status: not OrderStatuses.Pending } notLive)
        {
            return notLive.Status;
        }

        var cancelled = order.Status == OrderStatuses.Cancelled;
        var releases = new List<Task<HoldOutcome>>
        {
            HoldCalls.OutcomeAsync(
                tickets.ReleaseReservationAsync(new ReleaseReservationRequest
                {
                    ReservationId = order.ReservationId.ToString(),
                    Reason = cancelled ? ReleaseReason.Cancelled : ReleaseReason.Expired,
                    OrderId = order.OrderId.ToString(),
                }),
                logger, "Release of the quota", order.ReservationId),
        };
        if (order.HasSeats)
        {
            releases.Add(HoldCalls.OutcomeAsync(
                venues.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest
                {
                    ReservationId = order.ReservationId.ToString(),
                    Reason = cancelled ? SeatReleaseReason.Cancelled : SeatReleaseReason.Expired,
                    OrderId = order.OrderId.ToString(),
                }),
                // AlreadyExists: released earlier with another reason.
                logger, "Release of the seats", order.ReservationId, StatusCode.AlreadyExists));
        }

        await Task.WhenAll(releases);
        return await orders.EndAsync(order.OrderId, order.Status, order.Reason, CancellationToken.None);
    }
}
