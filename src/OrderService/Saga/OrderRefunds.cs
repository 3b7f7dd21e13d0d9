using Dapr.Workflow;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// Starts the <see cref="OrderRefund"/> of an order whose refund is recorded. The embedded runtime keeps
/// workflows in memory, so an instance may be missing after a restart: the sweeper asks again.
/// </summary>
public sealed partial class OrderRefunds(DaprWorkflowClient workflows, ILogger<OrderRefunds> logger)
{
    /// <summary>Schedules the order's refund unless it runs or ran; a failed or terminated instance is replaced.</summary>
    public async Task EnsureRunningAsync(Order order, CancellationToken cancellationToken)
    {
        var id = OrderRefund.InstanceId(order.OrderId);
        var state = await workflows.GetWorkflowStateAsync(id, getInputsAndOutputs: false, cancellationToken);
        if (state.Exists && state.RuntimeStatus is not (WorkflowRuntimeStatus.Failed or WorkflowRuntimeStatus.Terminated))
        {
            return;
        }

        if (state.Exists)
        {
            await workflows.PurgeInstanceAsync(id, cancellationToken);
            LogRefundRestarted(logger, order.OrderId, state.RuntimeStatus);
        }

        try
        {
            await workflows.ScheduleNewWorkflowAsync(nameof(OrderRefund), id, new OrderRefundInput(order.OrderId, order.ReservationId, order.SeatPlanId.HasValue));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The subscriber and the sweeper may both start it: the first one wins and all is well.
            if (!(await workflows.GetWorkflowStateAsync(id, getInputsAndOutputs: false, cancellationToken)).Exists)
            {
                throw;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Restarting the refund of order {OrderId}, whose instance was {RuntimeStatus}")]
    private static partial void LogRefundRestarted(ILogger logger, Guid orderId, WorkflowRuntimeStatus runtimeStatus);
}
