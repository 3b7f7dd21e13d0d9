using Stripe;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>A message whose handling is recorded in the inbox in the same transaction as its effect.</summary>
public readonly record struct InboxEntry(string Source, string MessageId);

/// <summary>
/// What follows a capture or an order's end, shared by confirm, the webhook and payment_work: money
/// for a live order makes the payment SUCCEEDED; money for an ended order becomes work that refunds it;
/// an ended order's PaymentIntent is cancelled or its capture refunded, only on Stripe's own word.
/// Callers hold the order's <see cref="OrderLock"/>.
/// </summary>
public sealed partial class PaymentSettlement(StripeGateway stripe, PaymentStore store, PaymentWorkSignal work, ILogger<PaymentSettlement> logger)
{
    /// <summary>Stripe captured <paramref name="intent"/> for the payment at <paramref name="capturedAt"/>.</summary>
    public async Task SettleCapturedAsync(OrderLock order, Payment payment, PaymentIntent intent, DateTimeOffset capturedAt, InboxEntry? inbox, CancellationToken cancellationToken)
    {
        await using var transaction = await order.Connection.BeginTransactionAsync(cancellationToken);
        if (inbox is { } entry && !await PaymentStore.TryRecordInboxAsync(order.Connection, transaction, entry.Source, entry.MessageId, cancellationToken))
        {
            return;
        }

        if (payment.Ended || payment.Status == PaymentStatuses.Cancelled)
        {
            // The order ended before the money arrived (e.g. 3D Secure finished after expiry): give it back.
            await PaymentWorkRunner.AddAsync(order.Connection, transaction, payment.OrderId, CancellationReasons.PaymentAfterEnd, intent.Id, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            work.Notify();
            LogCaptureAfterEnd(logger, intent.Id, payment.OrderId);
            return;
        }

        if (intent.AmountReceived != payment.AmountMinor || !string.Equals(intent.Currency, payment.Currency, StringComparison.OrdinalIgnoreCase))
        {
            LogCaptureMismatch(logger, intent.Id, payment.OrderId, intent.AmountReceived, intent.Currency, payment.AmountMinor, payment.Currency);
        }

        var succeeded = await PaymentStore.MarkSucceededAsync(order.Connection, transaction, payment, intent.Id, intent.AmountReceived, intent.Currency, capturedAt, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        if (succeeded is not null)
        {
            store.WakeOutboxRelay();
            LogPaymentSucceeded(logger, payment.PaymentId, payment.OrderId, intent.Id);
        }
    }

    /// <summary>
    /// One attempt at the money of an ended order: returns once Stripe has said that nothing is captured
    /// (the payment is CANCELLED) or the capture is refunded (REFUNDED); throws while Stripe has not.
    /// </summary>
    public async Task SettleEndedOrderAsync(OrderLock order, SettlementWork work, CancellationToken cancellationToken)
    {
        var payment = await PaymentStore.FindAsync(order.Connection, work.OrderId, cancellationToken)
            ?? throw new InvalidOperationException($"Order {work.OrderId} has work but no payment row.");
        if (payment.Status == PaymentStatuses.Refunded)
        {
            return;
        }

        if (work.CapturedIntentId is { } captured)
        {
            await RefundAsync(order, payment, await stripe.RetrieveAsync(captured, cancellationToken), work.Reason, cancellationToken);
            return;
        }

        var intent = await ReconcileAsync(payment, cancellationToken);
        if (intent?.Status is null or "canceled")
        {
            await PaymentStore.MarkCancelledAsync(order.Connection, payment.PaymentId, work.Reason, cancellationToken);
            LogEndedWithoutCapture(logger, payment.OrderId, work.Reason);
            return;
        }

        if (intent.Status != "succeeded")
        {
            // Not captured: cancel it. An intent that moved on meanwhile (captured after all) is read again at the next attempt.
            await stripe.CancelAsync(payment with { PaymentIntentId = intent.Id }, cancellationToken);
            await PaymentStore.MarkCancelledAsync(order.Connection, payment.PaymentId, work.Reason, cancellationToken);
            LogEndedWithoutCapture(logger, payment.OrderId, work.Reason);
            return;
        }

        await RefundAsync(order, payment, intent, work.Reason, cancellationToken);
    }

    /// <summary>
    /// The order's PaymentIntent as Stripe has it, or null when none is stored. Nothing is replayed: money moves
    /// only on a confirm, and a confirm is sent only for an intent whose id is stored, so an attempt that never
    /// stored one (its create unanswered, or never sent) took nothing; an unconfirmed intent it may have left at
    /// Stripe is never confirmed, and its client secret was never given out.
    /// </summary>
    private async Task<PaymentIntent?> ReconcileAsync(Payment payment, CancellationToken cancellationToken) =>
        payment.PaymentIntentId is { } known ? await stripe.RetrieveAsync(known, cancellationToken) : null;

    /// <summary>Refunds the whole captured amount (one stable idempotency key per order), records it and announces payments.payment.refunded.</summary>
    private async Task RefundAsync(OrderLock order, Payment payment, PaymentIntent intent, string reason, CancellationToken cancellationToken)
    {
        if (intent.Status != "succeeded")
        {
            throw new InvalidOperationException($"PaymentIntent {intent.Id} of order {payment.OrderId} is {intent.Status}, not captured; nothing to refund yet.");
        }

        Refund refund;
        try
        {
            refund = await stripe.RefundAsync(payment, intent.Id, cancellationToken);
        }
        catch (StripeException ex) when (ex.StripeError?.Code == "charge_already_refunded")
        {
            // Refunded in full outside this service (the dashboard): the money is back all the same.
            refund = new Refund { Id = intent.LatestChargeId, Amount = intent.AmountReceived, Currency = intent.Currency };
        }

        var refunded = new PaymentRefunded(payment.OrderId, payment.PaymentId, intent.Id, refund.Id, refund.Amount, refund.Currency.ToUpperInvariant(), DateTimeOffset.UtcNow);
        await RecordRefundAsync(order, payment, refunded, reason, inbox: null, cancellationToken);
    }

    /// <summary>Records a full refund once: REFUNDED, the refunds row and payments.payment.refunded through the outbox.</summary>
    public async Task RecordRefundAsync(OrderLock order, Payment payment, PaymentRefunded refunded, string reason, InboxEntry? inbox, CancellationToken cancellationToken)
    {
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "PaymentIntent {PaymentIntent} captured money for order {OrderId} after it ended; refunding it")]
    private static partial void LogCaptureAfterEnd(ILogger logger, string paymentIntent, Guid orderId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Order {OrderId} ended ({Reason}) without a captured payment")]
    private static partial void LogEndedWithoutCapture(ILogger logger, Guid orderId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Refunded {Amount} {Currency} of order {OrderId} ({Reason})")]
    private static partial void LogRefunded(ILogger logger, long amount, string currency, Guid orderId, string reason);
}
