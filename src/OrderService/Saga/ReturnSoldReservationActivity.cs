using Dapr.Workflow;
using TicketSaga.Ticket.V1;

namespace TicketSaga.OrderService.Saga;

/// <summary>Gives the refunded order's sold quota back to stock; Gone when it is not sold to the order.</summary>
internal sealed class ReturnSoldReservationActivity(Tickets.TicketsClient tickets, ILogger<ReturnSoldReservationActivity> logger)
    : WorkflowActivity<ReturnSale, HoldOutcome>
{
    public override Task<HoldOutcome> RunAsync(WorkflowActivityContext context, ReturnSale sale) =>
        HoldCalls.OutcomeAsync(
            tickets.ReturnSoldReservationAsync(new ReturnSoldReservationRequest
            {
                ReservationId = sale.ReservationId.ToString(),
                OrderId = sale.OrderId.ToString(),
            }),
            logger, nameof(ReturnSoldReservationActivity), sale.ReservationId);
}
