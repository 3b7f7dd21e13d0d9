using Stripe;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>
/// orders.order.cancelled: the order ended without a sale. A PaymentIntent not yet captured is
/// cancelled; captured money (the payment raced the expiry) is refunded in full. Money and tickets agree.
/// </summary>
public sealed partial class OrderCancellation(PaymentStore store, StripeGateway stripe, PaymentSettlement settlement, ILogger<OrderCancellation> logger)
{
    public async Task HandleAsync(string cloudEventId, OrderCancelled cancelled, CancellationToken cancellationToken)
    {
        await using var order = await OrderLock.AcquireAsync(store.DataSource, cancelled.OrderId, cancellationToken);
        var inbox = new InboxEntry(PaymentStore.PubSubInbox, cloudEventId);
        if (await PaymentStore.SeenAsync(order.Connection, inbox.Source, inbox.MessageId, cancellationToken))
        {
            return;
        }

        var payment = await PaymentStore.FindAsync(order.Connection, cancelled.OrderId, cancellationToken);
        if (payment?.Status == PaymentStatuses.Succeeded)
        {
            await settlement.RefundAsync(order, payment, payment.PaymentIntentId!, cancelled.Reason, inbox, cancellationToken);
            return;
        }

        if (payment is { PaymentIntentId: not null } && PaymentStatuses.IsPayable(payment.Status)
            && await CancelIntentAsync(payment, cancellationToken) is { } captured)
        {
            await settlement.RefundAsync(order, payment, captured.Id, cancelled.Reason, inbox, cancellationToken);
            return;
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
    }

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

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} ended ({Reason}) without a captured payment")]
    private static partial void LogEndedWithoutCapture(ILogger logger, Guid orderId, string reason);
}
