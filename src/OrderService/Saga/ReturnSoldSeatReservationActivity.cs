using Dapr.Workflow;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Saga;

/// <summary>Puts the refunded order's sold seats back on sale; Gone when they are not sold to the order.</summary>
internal sealed class ReturnSoldSeatReservationActivity(Venues.VenuesClient venues, ILogger<ReturnSoldSeatReservationActivity> logger)
    : WorkflowActivity<ReturnSale, HoldOutcome>
{
    public override Task<HoldOutcome> RunAsync(WorkflowActivityContext context, ReturnSale sale) =>
        HoldCalls.OutcomeAsync(
            venues.ReturnSoldSeatReservationAsync(new ReturnSoldSeatReservationRequest
            {
                ReservationId = sale.ReservationId.ToString(),
                OrderId = sale.OrderId.ToString(),
            }),
            logger, nameof(ReturnSoldSeatReservationActivity), sale.ReservationId);
}
