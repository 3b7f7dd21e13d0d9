using Microsoft.Extensions.Options;
using Stripe;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>
/// POST /payments/webhook. Only events signed with our endpoint secret within 5 minutes are believed;
/// each Stripe event id has an effect once (inbox), and the payment's status never moves backwards,
/// so replays and any order of arrival leave the same state.
/// </summary>
public sealed partial class StripeWebhook(PaymentStore store, OrderLocks locks, StripeGateway stripe, PaymentSettlement settlement, IOptions<StripeOptions> options, ILogger<StripeWebhook> logger)
{
    /// <summary>The reason recorded for a refund made at Stripe rather than by this service.</summary>
    public const string RefundedAtStripe = "REFUNDED_AT_STRIPE";

    private const long ToleranceSeconds = 300;

    public async Task<WebhookAnswer> HandleAsync(string json, string? signature, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(signature))
        {
            return new WebhookAnswer.Rejected("The Stripe-Signature header is missing.");
        }

        Event stripeEvent;
        try
        {
            stripeEvent = EventUtility.ConstructEvent(json, signature, options.Value.WebhookSecret, ToleranceSeconds);
        }
        catch (StripeException ex)
        {
            LogWebhookRejected(logger, ex.Message);
            return new WebhookAnswer.Rejected(ex.Message);
        }

        var (intentId, metadata) = stripeEvent.Data.Object switch
        {
            PaymentIntent intent => (intent.Id, intent.Metadata),
            Charge charge => (charge.PaymentIntentId, charge.Metadata),
            Refund refund => (refund.PaymentIntentId, refund.Metadata),
            _ => (null, null),
        };
        var orderId = intentId is null ? null : await store.OrderOfIntentAsync(intentId, cancellationToken);
        if (orderId is null && metadata?.GetValueOrDefault(StripeGateway.OrderIdKey) is { } fromMetadata && Guid.TryParse(fromMetadata, out var parsed))
        {
            orderId = parsed;
        }

        return orderId is null ? new WebhookAnswer.Accepted() : await ApplyAsync(stripeEvent, orderId.Value, cancellationToken);
    }

    private async Task<WebhookAnswer> ApplyAsync(Event stripeEvent, Guid orderId, CancellationToken cancellationToken)
    {
        await using var order = await locks.AcquireAsync(orderId, cancellationToken);
        var inbox = new InboxEntry(PaymentStore.StripeInbox, stripeEvent.Id);
        if (await PaymentStore.SeenAsync(order.Connection, inbox.Source, inbox.MessageId, cancellationToken)
            || await PaymentStore.FindAsync(order.Connection, orderId, cancellationToken) is not { } payment)
        {
            return new WebhookAnswer.Accepted();
        }

        switch (stripeEvent.Type, stripeEvent.Data.Object)
        {
            case (EventTypes.ChargeRefunded, Charge { Refunded: true } charge)
                when PaymentStatuses.IsPayable(payment.Status) && (payment.PaymentIntentId ?? charge.PaymentIntentId) == charge.PaymentIntentId:
            case (EventTypes.RefundCreated or EventTypes.RefundUpdated, Refund { Status: "succeeded" } refund)
                when PaymentStatuses.IsPayable(payment.Status) && (payment.PaymentIntentId ?? refund.PaymentIntentId) == refund.PaymentIntentId:
                // Refunded before this service heard of the capture (a 3-D Secure payment refunded at once, or a
                // confirm whose answer was lost): not recorded, so Stripe sends it again, and it is applied once the
                // capture has made the payment SUCCEEDED.
                LogRefundBeforeCapture(logger, stripeEvent.Id, orderId);
                return new WebhookAnswer.Later("The payment's capture is not known yet; send the refund again later.");
            case (EventTypes.PaymentIntentSucceeded, PaymentIntent intent)
                when PaymentStatuses.IsPayable(payment.Status) || payment.Status == PaymentStatuses.Cancelled:
                // When Stripe raised the event, not when it arrived: a capture made in time buys the order however late its webhook.
                await settlement.SettleCapturedAsync(order, payment, intent, new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc)), inbox, cancellationToken);
                return new WebhookAnswer.Accepted();
            case (EventTypes.PaymentIntentPaymentFailed, PaymentIntent intent)
                when payment.Status == PaymentStatuses.RequiresAction && intent.Id == payment.PaymentIntentId:
                // Events arrive in any order: Stripe's current state decides whether authentication failed.
                var current = await stripe.RetrieveAsync(intent.Id, cancellationToken);
                if (current.Status == "requires_payment_method")
                {
                    await PaymentStore.EndAttemptAsync(order.Connection, payment.PaymentId, intent.Id, PaymentStatuses.Pending,
                        new AttemptEnd(PaymentAttemptOutcomes.Declined, current.LastPaymentError?.DeclineCode ?? current.LastPaymentError?.Code,
                            current.LastPaymentError?.Message), cancellationToken);
                }

                break;
            case (EventTypes.PaymentIntentCanceled, PaymentIntent intent)
                when PaymentStatuses.IsPayable(payment.Status) && intent.Id == payment.PaymentIntentId:
                // Cancelled at Stripe while the order is live: the next confirm starts a new PaymentIntent.
                await PaymentStore.ForgetIntentAsync(order.Connection, payment.PaymentId, intent.Id, cancellationToken);
                break;
            case (EventTypes.ChargeRefunded, Charge charge)
                when payment.Status == PaymentStatuses.Succeeded && charge.Refunded && charge.PaymentIntentId == payment.PaymentIntentId:
                // Refunded in full outside this service (the dashboard, a dispute): record it and tell order-service.
                await settlement.RecordRefundAsync(order, payment, new PaymentRefunded(payment.OrderId, payment.PaymentId, charge.PaymentIntentId,
                    charge.Refunds?.Data?.LastOrDefault()?.Id ?? charge.Id, charge.AmountRefunded, charge.Currency.ToUpperInvariant(), DateTimeOffset.UtcNow),
                    RefundedAtStripe, inbox, cancellationToken);
                return new WebhookAnswer.Accepted();
            case (EventTypes.RefundCreated or EventTypes.RefundUpdated, Refund refund)
                when payment.Status == PaymentStatuses.Succeeded && refund.Status == "succeeded"
                    && refund.PaymentIntentId == payment.PaymentIntentId && refund.Amount == payment.AmountMinor:
                // One refund of the whole amount (a partial one leaves the sale standing until charge.refunded says it is all back).
                await settlement.RecordRefundAsync(order, payment, new PaymentRefunded(payment.OrderId, payment.PaymentId, refund.PaymentIntentId,
                    refund.Id, refund.Amount, refund.Currency.ToUpperInvariant(), DateTimeOffset.UtcNow), RefundedAtStripe, inbox, cancellationToken);
                return new WebhookAnswer.Accepted();
        }

        await PaymentSettlement.RecordHandledAsync(order, inbox, cancellationToken);
        return new WebhookAnswer.Accepted();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Webhook {EventId} refunds order {OrderId}'s payment before its capture is known; Stripe sends it again")]
    private static partial void LogRefundBeforeCapture(ILogger logger, string eventId, Guid orderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rejected a webhook: {Reason}")]
    private static partial void LogWebhookRejected(ILogger logger, string reason);
}

/// <summary>What the webhook answers Stripe.</summary>
public abstract record WebhookAnswer
{
    public sealed record Accepted : WebhookAnswer;

    /// <summary>Not believed (signature); Stripe's retries change nothing.</summary>
    public sealed record Rejected(string Reason) : WebhookAnswer;

    /// <summary>Not applicable yet: any answer but 2xx makes Stripe send the event again (for days).</summary>
    public sealed record Later(string Reason) : WebhookAnswer;
}
