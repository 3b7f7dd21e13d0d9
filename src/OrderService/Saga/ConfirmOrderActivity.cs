using Dapr.Workflow;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>CONFIRMED + orders.order.completed in one transaction; answers the status the order ends with.</summary>
public sealed class ConfirmOrderActivity(OrderStore orders) : WorkflowActivity<Guid, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, Guid orderId) => orders.ConfirmAsync(orderId, CancellationToken.None);
}
