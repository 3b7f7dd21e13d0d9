using Dapr.Workflow;
using TicketSaga.Contracts;

namespace TicketSaga.OrderService.Saga;

/// <param name="EndBy">expires_at + grace: the saga's own backstop should the expiry message never come.</param>
public sealed record OrderSagaInput(Guid OrderId, Guid ReservationId, bool HasSeats, DateTime EndBy);

public sealed record OrderSagaResult(string Status, string? Reason);

/// <summary>Names of the external events the saga waits for.</summary>
public static class SagaEvents
{
    public const string PaymentSucceeded = "payment-succeeded";
    public const string Expired = "expired";
    public const string CancelledByCustomer = "cancelled-by-customer";
}

/// <summary>
/// Phases 4 and 5 of one order (instance id = order id): waits for the payment, the expiry or the
/// customer's cancel — and a durable timer at expires_at + grace — then finalizes or compensates.
/// Whatever comes second finds the order ended: the status change is a conditional UPDATE.
/// </summary>
public sealed class OrderSaga : Workflow<OrderSagaInput, OrderSagaResult>
{
    /// <summary>Dependencies that are down (sidecar, ticket/venue service) are waited out, with back-off.</summary>
    internal static readonly WorkflowTaskOptions Retry = new(new WorkflowRetryPolicy(
        maxNumberOfAttempts: 10, firstRetryInterval: TimeSpan.FromMilliseconds(500), backoffCoefficient: 2, maxRetryInterval: TimeSpan.FromSeconds(30)));

    public override async Task<OrderSagaResult> RunAsync(WorkflowContext context, OrderSagaInput input)
    {
        var log = context.CreateReplaySafeLogger<OrderSaga>();
        using var stopWaiting = new CancellationTokenSource();
        var payment = context.WaitForExternalEventAsync<PaymentSucceeded>(SagaEvents.PaymentSucceeded, stopWaiting.Token);
        var expiry = context.WaitForExternalEventAsync<ExpirationComplete>(SagaEvents.Expired, stopWaiting.Token);
        var cancel = context.WaitForExternalEventAsync<bool>(SagaEvents.CancelledByCustomer, stopWaiting.Token);
        var backstop = context.CreateTimer(input.EndBy, stopWaiting.Token);

        var first = await Task.WhenAny(payment, expiry, cancel, backstop);
        await stopWaiting.CancelAsync();

        if (first == payment)
        {
            var ticket = await context.CallActivityAsync<HoldOutcome>(
                nameof(FinalizeReservationActivity), new FinalizeHold(input.OrderId, input.ReservationId), Retry);
            var seats = input.HasSeats && ticket == HoldOutcome.Done
                ? await context.CallActivityAsync<HoldOutcome>(
                    nameof(FinalizeSeatReservationActivity), new FinalizeHold(input.OrderId, input.ReservationId), Retry)
                : HoldOutcome.Done;
            if (ticket == HoldOutcome.Done && seats == HoldOutcome.Done)
            {
                var status = await context.CallActivityAsync<string>(nameof(ConfirmOrderActivity), input.OrderId, Retry);
                log.LogInformation("Order {OrderId} paid: {Status}", input.OrderId, status);
                return new OrderSagaResult(status, null);
            }

            // The hold was reclaimed before the payment came: the sale cannot complete, the money goes back.
            log.LogWarning("Order {OrderId} was paid after its hold was reclaimed; refunding", input.OrderId);
            return await CompensateAsync(context, input, OrderStatuses.Expired, CancellationReasons.PaymentAfterEnd);
        }

        return first == cancel
            ? await CompensateAsync(context, input, OrderStatuses.Cancelled, CancellationReasons.CancelledByCustomer)
            : await CompensateAsync(context, input, OrderStatuses.Expired, CancellationReasons.Expired);
    }

    private static async Task<OrderSagaResult> CompensateAsync(WorkflowContext context, OrderSagaInput input, string status, string reason)
    {
        var releaseReason = status == OrderStatuses.Cancelled ? HoldReleaseReason.Cancelled : HoldReleaseReason.Expired;
        await context.CallActivityAsync<HoldOutcome>(
            nameof(ReleaseReservationActivity), new ReleaseHold(input.ReservationId, releaseReason), Retry);
        if (input.HasSeats)
        {
            await context.CallActivityAsync<HoldOutcome>(
                nameof(ReleaseSeatReservationActivity), new ReleaseHold(input.ReservationId, releaseReason), Retry);
        }

        var ended = await context.CallActivityAsync<string>(nameof(EndOrderActivity), new EndOrder(input.OrderId, status, reason), Retry);
        return new OrderSagaResult(ended, reason);
    }
}
