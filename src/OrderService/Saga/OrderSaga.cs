using Dapr.Workflow;
using TicketSaga.Contracts;

namespace TicketSaga.OrderService.Saga;

/// <param name="EndBy">expires_at + the settle window: the saga's own backstop should the expiry message never come.</param>
/// <param name="SettleWindow">How long after the expiry a payment captured in time may take to arrive.</param>
/// <param name="Paid">A payment captured in time was recorded before this instance started (a re-created saga): finalize at once.</param>
public sealed record OrderSagaInput(Guid OrderId, Guid ReservationId, bool HasSeats, DateTime EndBy, TimeSpan SettleWindow, bool Paid = false);

public sealed record OrderSagaResult(string Status, string? Reason);

/// <summary>
/// What the saga waits for, all on one external event (<see cref="Name"/>): the first signal decides.
/// One event name with a timeout is the wait the SDK's worker replays reliably.
/// </summary>
public sealed record SagaSignal(string Kind)
{
    public const string Name = "order-signal";

    /// <summary>A payment captured at or before expires_at (a later capture is never signalled).</summary>
    public const string PaymentSucceeded = "payment-succeeded";
    public const string Expired = "expired";
    public const string CancelledByCustomer = "cancelled-by-customer";
}

/// <summary>
/// Phases 4 and 5 of one order (instance id = order id): waits for the payment or the customer's
/// cancel, then finalizes or compensates. The deadline rule: money captured at or before expires_at
/// always buys the order, so after the expiry the saga still waits a settle window for such a payment
/// to arrive before it gives the hold back. Whatever comes second finds the order ended: the status
/// change is a conditional UPDATE.
/// </summary>
public sealed partial class OrderSaga : Workflow<OrderSagaInput, OrderSagaResult>
{
    /// <summary>Dependencies that are down (sidecar, ticket/venue service) are waited out, with back-off.</summary>
    internal static readonly WorkflowTaskOptions Retry = new(new WorkflowRetryPolicy(
        maxNumberOfAttempts: 10, firstRetryInterval: TimeSpan.FromMilliseconds(500), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));

    public override async Task<OrderSagaResult> RunAsync(WorkflowContext context, OrderSagaInput input)
    {
        var log = context.CreateReplaySafeLogger<OrderSaga>();
        // A re-created saga of a paid order: the signal went to the lost instance, the recorded payment stands for it.
        var signal = input.Paid ? SagaSignal.PaymentSucceeded : await WaitForSignalAsync(context, input.EndBy);
        if (signal == SagaSignal.Expired)
        {
            // The hold has expired, but a payment captured before that may still be on its way.
            var settleBy = context.CurrentUtcDateTime + input.SettleWindow;
            settleBy = settleBy < input.EndBy ? settleBy : input.EndBy;
            LogSettling(log, input.OrderId, settleBy);
            while (signal == SagaSignal.Expired)
            {
                signal = await WaitForSignalAsync(context, settleBy);
            }
        }

        if (signal == SagaSignal.PaymentSucceeded)
        {
            if (await FinalizeAsync(context, input))
            {
                var status = await context.CallActivityAsync<string>(nameof(ConfirmOrderActivity), input.OrderId, Retry);
                if (status == OrderStatuses.Confirmed)
                {
                    LogOrderConfirmed(log, input.OrderId);
                    return new OrderSagaResult(status, null);
                }
            }

            // Both or neither: a hold was gone (reclaimed before the payment came) or the order had ended:
            // what was sold goes back, and so does the money (PAYMENT_AFTER_END).
            LogPaidAfterHoldWasGone(log, input.OrderId);
            return await CompensateAsync(context, input, OrderStatuses.Expired, CancellationReasons.PaymentAfterEnd);
        }

        return signal == SagaSignal.CancelledByCustomer
            ? await CompensateAsync(context, input, OrderStatuses.Cancelled, CancellationReasons.CancelledByCustomer)
            : await CompensateAsync(context, input, OrderStatuses.Expired, CancellationReasons.Expired);
    }

    /// <summary>What <see cref="WaitForSignalAsync"/> answers when no signal came in time.</summary>
    private const string Timeout = "timeout";

    /// <summary>True when the quota and the seats are both sold to the order; false when either hold was gone.</summary>
    private static async Task<bool> FinalizeAsync(WorkflowContext context, OrderSagaInput input)
    {
        var hold = new FinalizeHold(input.OrderId, input.ReservationId);
        return await context.CallActivityAsync<HoldOutcome>(nameof(FinalizeReservationActivity), hold, Retry) == HoldOutcome.Done
            && (!input.HasSeats
                || await context.CallActivityAsync<HoldOutcome>(nameof(FinalizeSeatReservationActivity), hold, Retry) == HoldOutcome.Done);
    }

    /// <returns>The signal's kind, or <see cref="Timeout"/> once <paramref name="until"/> has passed.</returns>
    private static async Task<string> WaitForSignalAsync(WorkflowContext context, DateTime until)
    {
        try
        {
            var waitFor = until - context.CurrentUtcDateTime;
            return (await context.WaitForExternalEventAsync<SagaSignal>(SagaSignal.Name, waitFor > TimeSpan.Zero ? waitFor : TimeSpan.Zero)).Kind;
        }
        catch (TaskCanceledException)
        {
            return Timeout;
        }
    }

    private static async Task<OrderSagaResult> CompensateAsync(WorkflowContext context, OrderSagaInput input, string status, string reason)
    {
        // The order ends unsold: whatever part of it was sold (a finalize that went half way) goes back too.
        var ended = await context.CallActivityAsync<string>(
            nameof(CompensateOrderActivity), new CompensateOrder(input.OrderId, input.ReservationId, input.HasSeats, status, reason), Retry);
        return new OrderSagaResult(ended, reason);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} paid: CONFIRMED")]
    private static partial void LogOrderConfirmed(ILogger logger, Guid orderId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} expired; waiting until {SettleBy:O} for a payment captured in time")]
    private static partial void LogSettling(ILogger logger, Guid orderId, DateTime settleBy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Order {OrderId} was paid after one of its holds was gone; releasing both and refunding")]
    private static partial void LogPaidAfterHoldWasGone(ILogger logger, Guid orderId);
}
