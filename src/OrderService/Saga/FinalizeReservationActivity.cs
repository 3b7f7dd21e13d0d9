using Dapr.Workflow;
using TicketSaga.Ticket.V1;

namespace TicketSaga.OrderService.Saga;

/// <summary>Sells the order's quota hold; Gone when it was released or reclaimed first.</summary>
internal sealed class FinalizeReservationActivity(Tickets.TicketsClient tickets, ILogger<FinalizeReservationActivity> logger)
    : WorkflowActivity<FinalizeHold, HoldOutcome>
{
    public override Task<HoldOutcome> RunAsync(WorkflowActivityContext context, FinalizeHold hold) =>
        HoldCalls.OutcomeAsync(
            tickets.FinalizeReservationAsync(new FinalizeReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                OrderId = hold.OrderId.ToString(),
            }),
            logger, nameof(FinalizeReservationActivity), hold.ReservationId);
}
