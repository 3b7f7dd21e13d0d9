using Dapr.Workflow;
using Grpc.Core;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Saga;

/// <summary>Puts the order's seats back on sale, sold or held.</summary>
internal sealed class ReleaseSeatReservationActivity(Venues.VenuesClient venues, ILogger<ReleaseSeatReservationActivity> logger)
    : WorkflowActivity<ReleaseHold, HoldOutcome>
{
    public override Task<HoldOutcome> RunAsync(WorkflowActivityContext context, ReleaseHold hold) =>
        HoldCalls.OutcomeAsync(
            venues.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest
            {
                ReservationId = hold.ReservationId.ToString(),
                Reason = hold.Reason == HoldReleaseReason.Cancelled ? SeatReleaseReason.Cancelled : SeatReleaseReason.Expired,
                OrderId = hold.OrderId.ToString(),
            }),
            // AlreadyExists: released earlier with another reason.
            logger, nameof(ReleaseSeatReservationActivity), hold.ReservationId, StatusCode.AlreadyExists);
}
