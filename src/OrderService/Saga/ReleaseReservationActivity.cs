using Dapr.Workflow;
using TicketSaga.Ticket.V1;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// Gives the order's quota back, sold or held. An already released (or reclaimed) hold answers with its
/// first release, a never-held one with an empty release (its tombstone): nothing to tell apart.
/// </summary>
internal sealed class ReleaseReservationActivity(Tickets.TicketsClient tickets, ILogger<ReleaseReservationActivity> logger)
    : WorkflowActivity<ReleaseHold, HoldOutcome>
{
    public override Task<HoldOutcome> RunAsync(WorkflowActivityContext context, ReleaseHold hold) =>
        HoldCalls.OutcomeAsync(
            tickets.ReleaseReservationAsync(new ReleaseReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                Reason = hold.Reason == HoldReleaseReason.Cancelled ? ReleaseReason.Cancelled : ReleaseReason.Expired,
                OrderId = hold.OrderId.ToString(),
            }),
            logger, nameof(ReleaseReservationActivity), hold.ReservationId);
}
