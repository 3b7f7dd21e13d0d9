using Dapr.Workflow;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>EXPIRED/CANCELLED + orders.order.cancelled in one transaction; answers the status the order ends with.</summary>
public sealed class EndOrderActivity(OrderStore orders) : WorkflowActivity<EndOrder, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, EndOrder end) =>
        orders.EndAsync(end.OrderId, end.Status, end.Reason, CancellationToken.None);
}
