using Dapr.Workflow;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>REFUNDED + orders.order.refunded in one transaction; answers the status the order ends with.</summary>
public sealed class RefundOrderActivity(OrderStore orders) : WorkflowActivity<Guid, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, Guid orderId) => orders.RefundAsync(orderId, CancellationToken.None);
}
