using Stripe;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>A message whose handling is recorded in the inbox in the same transaction as its effect.</summary>
public readonly record struct InboxEntry(string Source, string MessageId);

/// <summary>
/// What follows a capture or an order's end, shared by confirm, the webhook and the cancellation:
/// money for a live order makes the payment SUCCEEDED; money for an ended order is refunded at once.
/// Callers hold the order's <see cref="OrderLock"/>.
/// </summary>
public sealed partial class PaymentSettlement(StripeGateway stripe, PaymentStore store, ILogger<PaymentSettlement> logger)
{
    /// <summary>Stripe captured <paramref name="intent"/> for the payment.</summary>
    public async Task SettleCapturedAsync(OrderLock order, Payment payment, PaymentIntent intent, InboxEntry? inbox, CancellationToken cancellationToken)
    {
        if (payment.Status == PaymentStatuses.Cancelled)
        {
            // The order ended before the money arrived (e.g. 3D Secure finished after expiry): give it back.
            await RefundAsync(order, payment, intent.Id, CancellationReasons.PaymentAfterEnd, inbox, cancellationToken);
            return;
        }

        if (intent.AmountReceived != payment.AmountMinor || !string.Equals(intent.Currency, payment.Currency, StringComparison.OrdinalIgnoreCase))
        {
            LogCaptureMismatch(logger, intent.Id, payment.OrderId, intent.AmountReceived, intent.Currency, payment.AmountMinor, payment.Currency);
        }

        await using var transaction = await order.Connection.BeginTransactionAsync(cancellationToken);
        if (inbox is { } entry && !await PaymentStore.TryRecordInboxAsync(order.Connection, transaction, entry.Source, entry.MessageId, cancellationToken))
        {
            return;
        }

        var succeeded = await PaymentStore.MarkSucceededAsync(order.Connection, transaction, payment, intent.Id, intent.AmountReceived, intent.Currency, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (succeeded is not null)
        {
            store.WakeOutboxRelay();
            LogPaymentSucceeded(logger, payment.PaymentId, payment.OrderId, intent.Id);
        }
    }

    /// <summary>Refunds the whole captured amount, records it and announces payments.payment.refunded.</summary>
    public async Task RefundAsync(OrderLock order, Payment payment, string paymentIntentId, string reason, InboxEntry? inbox, CancellationToken cancellationToken)
    {
        var refund = await stripe.RefundAsync(payment, paymentIntentId, cancellationToken);
        var refunded = new PaymentRefunded(payment.OrderId, payment.PaymentId, paymentIntentId, refund.Id, refund.Amount, refund.Currency.ToUpperInvariant(), DateTimeOffset.UtcNow);
        await using var transaction = await order.Connection.BeginTransactionAsync(cancellationToken);
        if (inbox is { } entry && !await PaymentStore.TryRecordInboxAsync(order.Connection, transaction, entry.Source, entry.MessageId, cancellationToken))
        {
            return;
        }

        var recorded = await PaymentStore.MarkRefundedAsync(order.Connection, transaction, payment, refunded, reason, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (recorded)
        {
            store.WakeOutboxRelay();
            LogRefunded(logger, refunded.AmountMinor, refunded.Currency, payment.OrderId, reason);
        }
    }

    /// <summary>Records a message that needed no change, so its redelivery is recognised.</summary>
    public static async Task RecordHandledAsync(OrderLock order, InboxEntry inbox, CancellationToken cancellationToken)
    {
        await using var transaction = await order.Connection.BeginTransactionAsync(cancellationToken);
        await PaymentStore.TryRecordInboxAsync(order.Connection, transaction, inbox.Source, inbox.MessageId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "PaymentIntent {PaymentIntent} of order {OrderId} captured {Amount} {Currency}, the order asks for {Expected} {ExpectedCurrency}")]
    private static partial void LogCaptureMismatch(ILogger logger, string paymentIntent, Guid orderId, long amount, string currency, long? expected, string? expectedCurrency);

    [LoggerMessage(Level = LogLevel.Information, Message = "Payment {PaymentId} of order {OrderId} succeeded ({PaymentIntent})")]
    private static partial void LogPaymentSucceeded(ILogger logger, Guid paymentId, Guid orderId, string paymentIntent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refunded {Amount} {Currency} of order {OrderId} ({Reason})")]
    private static partial void LogRefunded(ILogger logger, long amount, string currency, Guid orderId, string reason);
}
