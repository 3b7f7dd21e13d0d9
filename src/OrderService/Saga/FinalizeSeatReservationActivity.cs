using Dapr.Workflow;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Saga;

/// <summary>Sells the order's seat hold; Gone when it was released or reclaimed first.</summary>
internal sealed class FinalizeSeatReservationActivity(Venues.VenuesClient venues, ILogger<FinalizeSeatReservationActivity> logger)
    : WorkflowActivity<FinalizeHold, HoldOutcome>
{
    public override Task<HoldOutcome> RunAsync(WorkflowActivityContext context, FinalizeHold hold) =>
        HoldCalls.OutcomeAsync(
            venues.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                OrderId = hold.OrderId.ToString(),
            }),
            logger, nameof(FinalizeSeatReservationActivity), hold.ReservationId);
}
