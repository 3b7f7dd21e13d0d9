using Stripe;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>
/// orders.order.cancelled: the order ended without a sale. A PaymentIntent not yet captured is
/// cancelled; captured money (the payment raced the expiry) is refunded in full. Money and tickets agree.
/// Before touching a payment it asks order-service whether the order really ended: a cancellation of
/// a live or confirmed order (forged) is refused.
/// </summary>
public sealed partial class OrderCancellation(
    PaymentStore store, StripeGateway stripe, PaymentSettlement settlement, OrderDirectory orders, ILogger<OrderCancellation> logger)
{
    /// <returns>null when handled; otherwise why the cancellation was refused (nothing changed).</returns>
    public async Task<string?> HandleAsync(string cloudEventId, OrderCancelled cancelled, CancellationToken cancellationToken)
    {
        await using var order = await OrderLock.AcquireAsync(store.DataSource, cancelled.OrderId, cancellationToken);
        var inbox = new InboxEntry(PaymentStore.PubSubInbox, cloudEventId);
        if (await PaymentStore.SeenAsync(order.Connection, inbox.Source, inbox.MessageId, cancellationToken))
        {
            return null;
        }

        var payment = await PaymentStore.FindAsync(order.Connection, cancelled.OrderId, cancellationToken);
        if (await RefusalAsync(cancelled, cancellationToken) is { } refusal)
        {
            LogCancellationRefused(logger, cancelled.OrderId, refusal);
            return refusal;
        }

        if (payment?.Status == PaymentStatuses.Succeeded)
        {
            await settlement.RefundAsync(order, payment, payment.PaymentIntentId!, cancelled.Reason, inbox, cancellationToken);
            return null;
        }

        if (payment is { PaymentIntentId: not null } && PaymentStatuses.IsPayable(payment.Status)
            && await CancelIntentAsync(payment, cancellationToken) is { } captured)
        {
            await settlement.RefundAsync(order, payment, captured.Id, cancelled.Reason, inbox, cancellationToken);
            return null;
        }

        await using var transaction = await order.Connection.BeginTransactionAsync(cancellationToken);
        await PaymentStore.TryRecordInboxAsync(order.Connection, transaction, inbox.Source, inbox.MessageId, cancellationToken);
        if (payment is null)
        {
            await PaymentStore.AddCancelledOrderAsync(order.Connection, transaction, cancelled, cancellationToken);
        }
        else
        {
            await PaymentStore.MarkCancelledAsync(order.Connection, transaction, payment.PaymentId, cancelled.Reason, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        LogEndedWithoutCapture(logger, cancelled.OrderId, cancelled.Reason);
        return null;
    }

    /// <summary>
    /// order-service publishes orders.order.cancelled only after the order ended (its outbox commits
    /// with the status), so any other answer means the message did not come from it.
    /// </summary>
    private async Task<string?> RefusalAsync(OrderCancelled cancelled, CancellationToken cancellationToken) =>
        await orders.StatusAsync(cancelled.OrderId, cancellationToken) switch
        {
            OrderStatuses.Expired or OrderStatuses.Cancelled => null,
            null => throw new InvalidOperationException($"order-service did not answer whether order {cancelled.OrderId} has ended; retrying the cancellation."),
            var status => $"Cancellation ({cancelled.Reason}) of order {cancelled.OrderId} refused: order-service says the order is {status}, " +
                "not ended; its payment is neither cancelled nor refunded.",
        };

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused cancellation of order {OrderId}: {Refusal}")]
    private static partial void LogCancellationRefused(ILogger logger, Guid orderId, string refusal);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} ended ({Reason}) without a captured payment")]
    private static partial void LogEndedWithoutCapture(ILogger logger, Guid orderId, string reason);

    /// <returns>The PaymentIntent when Stripe had captured it after all (then it must be refunded), else null.</returns>
    private async Task<PaymentIntent?> CancelIntentAsync(Payment payment, CancellationToken cancellationToken)
    {
        try
        {
            await stripe.CancelAsync(payment, cancellationToken);
            return null;
        }
        catch (StripeException ex) when (ex.StripeError?.Code == "payment_intent_unexpected_state")
        {
            var intent = await stripe.RetrieveAsync(payment.PaymentIntentId!, cancellationToken);
            return intent.Status == "succeeded" ? intent : null;
        }
    }
}
