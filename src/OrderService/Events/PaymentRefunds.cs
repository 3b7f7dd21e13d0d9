using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Events;

/// <summary>
/// payments.payment.refunded, exactly once per CloudEvent id: a CONFIRMED order's money was given back
/// (a refund made at Stripe, a dispute), so its stock goes back too and it ends REFUNDED
/// (<see cref="OrderRefund"/>). The refund of an order that ended unsold (PAYMENT_AFTER_END) changes nothing.
/// </summary>
public sealed partial class PaymentRefunds(OrderStore orders, OrderRefunds refunds, ILogger<PaymentRefunds> logger)
{
    public async Task<DaprAnswer> HandleAsync(string messageId, PaymentRefunded refund, CancellationToken cancellationToken)
    {
        if (await orders.HasHandledAsync(messageId, cancellationToken))
        {
            return DaprAnswer.Success;
        }

        var order = await orders.GetAsync(refund.OrderId, cancellationToken);
        if (order is null)
        {
            LogRefundForUnknownOrder(logger, refund.RefundId, refund.OrderId);
            return DaprAnswer.Drop($"refund {refund.RefundId} is for unknown order {refund.OrderId}");
        }

        // Defence in depth behind the sidecar's scopes: only the whole amount the order was paid ends it.
        if (!order.Costs(refund.AmountMinor, refund.Currency))
        {
            var refusal = $"refund {refund.RefundId} of {refund.AmountMinor} {refund.Currency} does not match order {order.OrderId}, "
                + $"which costs {order.AmountMinor} {order.Currency}; the order is not refunded by it";
            LogRefundRefused(logger, refund.RefundId, refund.OrderId, refusal);
            return DaprAnswer.Drop(refusal);
        }

        // Recorded before the workflow starts: should it never start, the sweeper starts it from this record.
        if (await orders.RecordRefundAsync(messageId, refund, cancellationToken) == OrderStatuses.Confirmed)
        {
            await refunds.EnsureRunningAsync(order, cancellationToken);
        }

        return DaprAnswer.Success;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refund {RefundId} is for unknown order {OrderId}; dropped")]
    private static partial void LogRefundForUnknownOrder(ILogger logger, string refundId, Guid orderId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused refund {RefundId} for order {OrderId}: {Refusal}")]
    private static partial void LogRefundRefused(ILogger logger, string refundId, Guid orderId, string refusal);
}
