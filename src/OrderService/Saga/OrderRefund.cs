using Dapr.Workflow;
using TicketSaga.Contracts;

namespace TicketSaga.OrderService.Saga;

public sealed record OrderRefundInput(Guid OrderId, Guid ReservationId, bool HasSeats);

/// <summary>What is given back: the reservation sold to the order.</summary>
public sealed record ReturnSale(Guid OrderId, Guid ReservationId);

/// <summary>
/// A CONFIRMED order whose payment was refunded (instance id <see cref="InstanceId"/>): its quota and
/// seats go back to stock, then the order ends REFUNDED. The refund is recorded on the order before this
/// starts, so a lost instance is started again (<see cref="RefundSweeper"/>) and, every step being
/// idempotent, finishes what the lost one began: REFUNDED always means the stock is back.
/// </summary>
public sealed partial class OrderRefund : Workflow<OrderRefundInput, string>
{
    public static string InstanceId(Guid orderId) => $"refund-{orderId}";

    public override async Task<string> RunAsync(WorkflowContext context, OrderRefundInput input)
    {
        var log = context.CreateReplaySafeLogger<OrderRefund>();
        var sale = new ReturnSale(input.OrderId, input.ReservationId);
        // Gone: nothing is sold to this order any more, so nothing of it is left to give back.
        var quota = await context.CallActivityAsync<HoldOutcome>(nameof(ReturnSoldReservationActivity), sale, OrderSaga.Retry);
        var seats = input.HasSeats
            ? await context.CallActivityAsync<HoldOutcome>(nameof(ReturnSoldSeatReservationActivity), sale, OrderSaga.Retry)
            : HoldOutcome.Done;
        if (quota == HoldOutcome.Gone || seats == HoldOutcome.Gone)
        {
            LogNothingSoldToReturn(log, input.OrderId);
        }

        var status = await context.CallActivityAsync<string>(nameof(RefundOrderActivity), input.OrderId, OrderSaga.Retry);
        if (status == OrderStatuses.Refunded)
        {
            LogOrderRefunded(log, input.OrderId);
        }

        return status;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} refunded: its quota and seats are back in stock")]
    private static partial void LogOrderRefunded(ILogger logger, Guid orderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refund of order {OrderId}: part of its sale was not sold to it any more; nothing to return there")]
    private static partial void LogNothingSoldToReturn(ILogger logger, Guid orderId);
}
