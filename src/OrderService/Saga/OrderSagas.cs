using Dapr.Workflow;
using Microsoft.Extensions.Options;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// Starts and signals order sagas. Sagas are durable (they survive a runtime crash), but the start of
/// one may have failed after its order committed: every signal first makes sure the live order's saga
/// runs, so that a signal never waits for the sweeper.
/// </summary>
public sealed partial class OrderSagas(DaprWorkflowClient workflows, IOptions<OrderOptions> options, ILogger<OrderSagas> logger)
{
    /// <summary>
    /// Schedules the saga of an order just placed. It cannot run yet, so nothing is read first: one call
    /// to the sidecar instead of two on the path of every purchase.
    /// </summary>
    public Task StartAsync(Order order, CancellationToken cancellationToken) => ScheduleAsync(order, recreated: false, cancellationToken);

    /// <summary>
    /// Whether <see cref="SagaSweeper"/> runs: it replaces the saga of any order still live a whole interval past
    /// its settle window, so a saga lost in a crash needs no one else to look for it there.
    /// </summary>
    public bool SweeperReplacesLostSagas => options.Value.SweepInterval > TimeSpan.Zero;

    /// <summary>Schedules the order's saga unless it runs; a failed or terminated instance is replaced.</summary>
    public async Task EnsureRunningAsync(Order order, CancellationToken cancellationToken)
    {
        var id = order.OrderId.ToString();
        var state = await workflows.GetWorkflowStateAsync(id, getInputsAndOutputs: false, cancellationToken);
        if (state.Exists && state.RuntimeStatus is not (WorkflowRuntimeStatus.Failed or WorkflowRuntimeStatus.Terminated))
        {
            return;
        }

        if (state.Exists)
        {
            await workflows.PurgeInstanceAsync(id, cancellationToken);
        }

        await ScheduleAsync(order, recreated: state.Exists || order.CreatedAt < DateTimeOffset.UtcNow.AddSeconds(-5), cancellationToken);
    }

    private async Task ScheduleAsync(Order order, bool recreated, CancellationToken cancellationToken)
    {
        var id = order.OrderId.ToString();
        var settleWindow = options.Value.SettleWindow;
        var input = new OrderSagaInput(
            order.OrderId, order.ReservationId, order.SeatPlanId.HasValue, (order.ExpiresAt + settleWindow).UtcDateTime, settleWindow,
            Paid: order.PaidInTime);
        try
        {
            await workflows.ScheduleNewWorkflowAsync(nameof(OrderSaga), id, input);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Another caller (sweeper, subscriber, request) may have scheduled it first: then all is well.
            if (!(await workflows.GetWorkflowStateAsync(id, getInputsAndOutputs: false, cancellationToken)).Exists)
            {
                throw;
            }

            return;
        }

        if (recreated)
        {
            LogSagaRecreated(logger, order.OrderId);
        }
    }

    /// <param name="kind">One of the <see cref="SagaSignal"/> kinds; a saga that has moved on ignores it.</param>
    public async Task SignalAsync(Order order, string kind, CancellationToken cancellationToken)
    {
        await EnsureRunningAsync(order, cancellationToken);
        await workflows.RaiseEventAsync(order.OrderId.ToString(), SagaSignal.Name, new SagaSignal(kind), cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-created the saga of live order {OrderId}")]
    private static partial void LogSagaRecreated(ILogger logger, Guid orderId);
}
