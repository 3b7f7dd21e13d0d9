using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>
/// orders.order.cancelled: the order ended without a sale, so its money must not stay captured. The
/// handler only records that, with the inbox row, in one transaction: the payment takes no attempt any
/// more, and is CANCELLED at once if nothing of it ever reached Stripe (a flash sale's unpaid holds);
/// otherwise a payment_work row lets <see cref="PaymentWorkRunner"/> cancel the PaymentIntent or refund
/// the capture at Stripe, however long Stripe takes to answer. Before that it asks order-service
/// whether the order really ended: a cancellation of a live or confirmed order (forged) is refused.
/// </summary>
public sealed partial class OrderCancellation(PaymentStore store, OrderLocks locks, OrderDirectory orders, PaymentWorkSignal work, ILogger<OrderCancellation> logger)
{
    /// <returns>null when handled; otherwise why the cancellation was refused (nothing changed).</returns>
    public async Task<string?> HandleAsync(string cloudEventId, OrderCancelled cancelled, CancellationToken cancellationToken)
    {
        if (await store.SeenAsync(PaymentStore.PubSubInbox, cloudEventId, cancellationToken))
        {
            return null;
        }

        // Asked before the lock, whose connection would otherwise wait on order-service: an ended order stays ended.
        if (await RefusalAsync(cancelled, cancellationToken) is { } refusal)
        {
            LogCancellationRefused(logger, cancelled.OrderId, refusal);
            return refusal;
        }

        await EndAsync(cancelled, cloudEventId, cancellationToken);
        return null;
    }

    /// <summary>
    /// The order has ended unsold, as order-service says: records it once (with the message's inbox row,
    /// when a message brought it) and leaves what Stripe may hold to payment_work.
    /// </summary>
    public async Task EndAsync(OrderCancelled cancelled, string? cloudEventId, CancellationToken cancellationToken)
    {
        // The order's lock: a confirm in progress finishes first, and none starts until the order is marked ended.
        await using var order = await locks.AcquireAsync(cancelled.OrderId, cancellationToken);
        await using var transaction = await order.Connection.BeginTransactionAsync(cancellationToken);
        var settleAtStripe = false;
        if ((cloudEventId is null || await PaymentStore.TryRecordInboxAsync(order.Connection, transaction, PaymentStore.PubSubInbox, cloudEventId, cancellationToken))
            && await PaymentStore.EndAsync(order.Connection, transaction, cancelled, cancellationToken))
        {
            await PaymentWorkRunner.AddAsync(order.Connection, transaction, cancelled.OrderId, cancelled.Reason, capturedIntentId: null, cancellationToken);
            settleAtStripe = true;
        }

        await transaction.CommitAsync(cancellationToken);
        if (settleAtStripe)
        {
            work.Notify();
            LogOrderEnded(logger, cancelled.OrderId, cancelled.Reason);
        }
        else
        {
            LogPaymentCancelled(logger, cancelled.OrderId, cancelled.Reason);
        }
    }

    /// <summary>
    /// order-service publishes orders.order.cancelled only after the order ended (its outbox commits
    /// with the status), so any other answer means the message did not come from it.
    /// </summary>
    private async Task<string?> RefusalAsync(OrderCancelled cancelled, CancellationToken cancellationToken) =>
        (await orders.StateAsync(cancelled.OrderId, cancellationToken))?.Status switch
        {
            OrderStatuses.Expired or OrderStatuses.Cancelled => null,
            null => throw new InvalidOperationException($"order-service did not answer whether order {cancelled.OrderId} has ended; retrying the cancellation."),
            var status => $"Cancellation ({cancelled.Reason}) of order {cancelled.OrderId} refused: order-service says the order is {status}, " +
                "not ended; its payment is neither cancelled nor refunded.",
        };

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused cancellation of order {OrderId}: {Refusal}")]
    private static partial void LogCancellationRefused(ILogger logger, Guid orderId, string refusal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} ended ({Reason}); its payment is settled by payment_work")]
    private static partial void LogOrderEnded(ILogger logger, Guid orderId, string reason);

    // Every unpaid hold of a sale ends this way: not worth a line each.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Order {OrderId} ended ({Reason}); nothing of its payment reached Stripe: cancelled")]
    private static partial void LogPaymentCancelled(ILogger logger, Guid orderId, string reason);
}
