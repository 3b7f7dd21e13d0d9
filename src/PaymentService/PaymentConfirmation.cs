using Stripe;
using TicketSaga.Contracts;
using TicketSaga.PublicApi;

namespace TicketSaga.PaymentService;

public abstract record ConfirmOutcome
{
    public sealed record Paid(PaymentView Payment) : ConfirmOutcome;

    public sealed record ActionRequired(PaymentView Payment) : ConfirmOutcome;

    /// <summary>Stripe has not decided yet (processing); the webhook will.</summary>
    public sealed record Processing(PaymentView Payment) : ConfirmOutcome;

    public sealed record Declined(string Code, string? DeclineCode, string Message) : ConfirmOutcome;

    public sealed record InvalidPaymentMethod(string Message) : ConfirmOutcome;

    /// <summary>Stripe refused the payment request itself (e.g. an amount below its minimum); retrying cannot help.</summary>
    public sealed record RejectedByProvider(string? Code, string? Param, string Message) : ConfirmOutcome;

    public sealed record UnknownOrder : ConfirmOutcome;

    public sealed record NotYetPayable : ConfirmOutcome;

    public sealed record OrderEnded(string Detail) : ConfirmOutcome;

    public sealed record ProviderUnavailable(string Detail) : ConfirmOutcome;
}

/// <summary>
/// POST /payments/confirm. Under the order's lock: a paid order answers its payment again (no charge);
/// an ended or expired one is refused; otherwise the next attempt is recorded, then Stripe is called with
/// that attempt's idempotency key. An order without a PaymentIntent gets one created unconfirmed and
/// stored before it is confirmed, so money only moves on an intent this service knows. An attempt Stripe
/// never answered is replayed first, with its own payment method, so a request retried after a crash or
/// a timeout cannot charge twice.
/// </summary>
public sealed partial class PaymentConfirmation(
    PaymentStore store, OrderLocks locks, StripeGateway stripe, PaymentSettlement settlement, OrderDirectory orders, ILogger<PaymentConfirmation> logger)
{
    /// <summary>
    /// A capture Stripe reports to a confirm is taken as made now: a confirm starts only before expires_at,
    /// and Stripe's answer comes within the request.
    /// </summary>
    private static DateTimeOffset AnsweredNow => DateTimeOffset.UtcNow;

    public async Task<ConfirmOutcome> ConfirmAsync(Guid orderId, string userId, string paymentMethod, string? authorization, CancellationToken cancellationToken)
    {
        // Without the lock, whose connection would otherwise wait on order-service (and on any caller's made-up order ids).
        if (await store.FindAsync(orderId, cancellationToken) is null
            && await MissingPaymentOutcomeAsync(orderId, userId, authorization, cancellationToken) is { } missing)
        {
            return missing;
        }

        await using var order = await locks.AcquireAsync(orderId, cancellationToken);
        // Payment rows are never deleted.
        var payment = (await PaymentStore.FindAsync(order.Connection, orderId, cancellationToken))!;

        if (payment.UserId != userId)
        {
            return new ConfirmOutcome.UnknownOrder();
        }

        if (payment.Status == PaymentStatuses.Succeeded && !payment.Ended)
        {
            return new ConfirmOutcome.Paid(PaymentView.Of(payment));
        }

        if (!PaymentStatuses.IsPayable(payment.Status) || payment.AmountMinor is null || payment.Ended)
        {
            return new ConfirmOutcome.OrderEnded("The order has ended; it can no longer be paid.");
        }

        if (payment.Expired)
        {
            return new ConfirmOutcome.OrderEnded("The order's hold has expired; it can no longer be paid.");
        }

        // From here on Stripe may act: a client hanging up must not cut the recording of its answer.
        var uninterrupted = CancellationToken.None;
        if (payment.AttemptInFlight)
        {
            var replayed = await AttemptAsync(order, payment, payment.AttemptPaymentMethod!, payment.Attempt, uninterrupted);
            if (replayed is not (ConfirmOutcome.Declined or ConfirmOutcome.InvalidPaymentMethod) || paymentMethod == payment.AttemptPaymentMethod)
            {
                return replayed;
            }

            payment = (await PaymentStore.FindAsync(order.Connection, orderId, uninterrupted))!;
        }

        if (payment.Status == PaymentStatuses.RequiresAction && await CapturedMeanwhileAsync(order, payment, uninterrupted) is { } paid)
        {
            return paid;
        }

        var attempt = await PaymentStore.BeginAttemptAsync(order.Connection, payment.PaymentId, paymentMethod, uninterrupted);
        return await AttemptAsync(order, payment, paymentMethod, attempt, uninterrupted);
    }

    /// <summary>
    /// No payment row: the order is unknown, or its orders.order.created has not arrived (just placed, or
    /// dead-lettered after an outage). order-service's own word about an order still on hold makes it payable.
    /// </summary>
    /// <returns>null once the payable row is there.</returns>
    private async Task<ConfirmOutcome?> MissingPaymentOutcomeAsync(Guid orderId, string userId, string? authorization, CancellationToken cancellationToken)
    {
        switch (await orders.KnowsAsync(orderId, authorization, cancellationToken))
        {
            case false:
                return new ConfirmOutcome.UnknownOrder();
            case null:
                return new ConfirmOutcome.ProviderUnavailable("The order cannot be looked up right now; retry shortly.");
        }

        var state = await orders.StateAsync(orderId, cancellationToken);
        if (state?.UserId is { } owner && owner != userId)
        {
            return new ConfirmOutcome.UnknownOrder();
        }

        if (state?.Status is OrderStatuses.Expired or OrderStatuses.Cancelled or OrderStatuses.Confirmed)
        {
            // Asking again cannot help: the order is over before its payment was ever set up here.
            return new ConfirmOutcome.OrderEnded("The order has ended; it can no longer be paid.");
        }

        if (state is not { Status: OrderStatuses.Pending, AmountMinor: { } amount, Currency: { } currency, ExpiresAt: { } expiresAt })
        {
            return new ConfirmOutcome.NotYetPayable();
        }

        await store.CreatePaymentAsync(orderId, userId, amount, currency, expiresAt, cancellationToken);
        return null;
    }

    public async Task<PaymentView?> FindAsync(Guid orderId, string userId, CancellationToken cancellationToken) =>
        await store.FindAsync(orderId, cancellationToken) is { } payment && payment.UserId == userId ? PaymentView.Of(payment) : null;

    /// <summary>The customer may have finished 3D Secure while the webhook is still on its way.</summary>
    private async Task<ConfirmOutcome?> CapturedMeanwhileAsync(OrderLock order, Payment payment, CancellationToken cancellationToken)
    {
        var intent = await stripe.RetrieveAsync(payment.PaymentIntentId!, cancellationToken);
        if (intent.Status != "succeeded")
        {
            return null;
        }

        await settlement.SettleCapturedAsync(order, payment, intent, AnsweredNow, inbox: null, cancellationToken);
        return new ConfirmOutcome.Paid(PaymentView.Of((await PaymentStore.FindAsync(order.Connection, payment.OrderId, cancellationToken))!));
    }

    private async Task<ConfirmOutcome> AttemptAsync(OrderLock order, Payment payment, string paymentMethod, int attempt, CancellationToken cancellationToken)
    {
        PaymentIntent intent;
        try
        {
            if (payment.PaymentIntentId is null)
            {
                // Stored before it is confirmed: a lost create answer leaves the attempt in flight with nothing charged
                // (its retry gets the same intent), a lost confirm answer leaves an intent payment_work can ask Stripe about.
                var created = await stripe.CreateAsync(payment, paymentMethod, attempt, cancellationToken);
                await PaymentStore.RecordIntentAsync(order.Connection, payment.PaymentId, created.Id, cancellationToken);
                payment = payment with { PaymentIntentId = created.Id };
            }

            intent = await stripe.ConfirmAsync(payment, paymentMethod, attempt, cancellationToken);
        }
        catch (StripeException ex) when (ex.StripeError?.Type == "card_error")
        {
            var error = ex.StripeError;
            await PaymentStore.EndAttemptAsync(order.Connection, payment.PaymentId, error.PaymentIntent?.Id, PaymentStatuses.Pending,
                new AttemptEnd(PaymentAttemptOutcomes.Declined, error.DeclineCode ?? error.Code, error.Message), cancellationToken);
            return new ConfirmOutcome.Declined(error.Code ?? "card_declined", error.DeclineCode, error.Message ?? "The card was declined.");
        }
        catch (StripeException ex) when (ex.StripeError is { Type: "invalid_request_error", Param: "payment_method" })
        {
            await PaymentStore.EndAttemptAsync(order.Connection, payment.PaymentId, null, null,
                new AttemptEnd(PaymentAttemptOutcomes.InvalidPaymentMethod, Message: ex.StripeError.Message), cancellationToken);
            return new ConfirmOutcome.InvalidPaymentMethod(ex.StripeError.Message);
        }
        catch (StripeException ex) when (ex.StripeError?.Code == "payment_intent_unexpected_state")
        {
            return await ReconcileAsync(order, payment, paymentMethod, cancellationToken);
        }
        catch (StripeException ex) when (StripeGateway.IsRefusal(ex))
        {
            // Stripe's definite "no" to the request: nothing happened there, so the attempt ends (a replay would get the same answer).
            await PaymentStore.EndAttemptAsync(order.Connection, payment.PaymentId, null, null,
                new AttemptEnd(PaymentAttemptOutcomes.Rejected, Message: ex.StripeError.Message), cancellationToken);
            LogAttemptRefused(logger, attempt, payment.OrderId, ex.StripeError.Code, ex.StripeError.Message);
            return new ConfirmOutcome.RejectedByProvider(ex.StripeError.Code, ex.StripeError.Param, ex.StripeError.Message ?? "The payment provider refused the request.");
        }
        catch (Exception ex) when (ex is StripeException or HttpRequestException or TaskCanceledException)
        {
            // No answer we can trust: the attempt stays in flight and the next request replays it.
            LogAttemptUnanswered(logger, attempt, payment.OrderId, ex.Message);
            return new ConfirmOutcome.ProviderUnavailable("The payment provider did not answer; retry shortly (you will not be charged twice).");
        }

        switch (intent.Status)
        {
            case "succeeded":
                await settlement.SettleCapturedAsync(order, payment, intent, AnsweredNow, inbox: null, cancellationToken);
                return new ConfirmOutcome.Paid(PaymentView.Of((await PaymentStore.FindAsync(order.Connection, payment.OrderId, cancellationToken))!));
            case "requires_action":
                await PaymentStore.EndAttemptAsync(order.Connection, payment.PaymentId, intent.Id, PaymentStatuses.RequiresAction,
                    new AttemptEnd(PaymentAttemptOutcomes.RequiresAction), cancellationToken);
                var view = PaymentView.Of((await PaymentStore.FindAsync(order.Connection, payment.OrderId, cancellationToken))!);
                return new ConfirmOutcome.ActionRequired(view with
                {
                    ClientSecret = intent.ClientSecret,
                    NextAction = new NextActionView(intent.NextAction?.Type ?? "use_stripe_sdk", intent.NextAction?.RedirectToUrl?.Url),
                });
            default:
                await PaymentStore.EndAttemptAsync(order.Connection, payment.PaymentId, intent.Id, null, new AttemptEnd(PaymentAttemptOutcomes.Processing), cancellationToken);
                return new ConfirmOutcome.Processing(PaymentView.Of((await PaymentStore.FindAsync(order.Connection, payment.OrderId, cancellationToken))!) with { Status = "PROCESSING" });
        }
    }

    /// <summary>The PaymentIntent moved on without this service: captured (settle it) or cancelled at Stripe (start a new one).</summary>
    private async Task<ConfirmOutcome> ReconcileAsync(OrderLock order, Payment payment, string paymentMethod, CancellationToken cancellationToken)
    {
        var intent = await stripe.RetrieveAsync(payment.PaymentIntentId!, cancellationToken);
        if (intent.Status == "succeeded")
        {
            await settlement.SettleCapturedAsync(order, payment, intent, AnsweredNow, inbox: null, cancellationToken);
            return new ConfirmOutcome.Paid(PaymentView.Of((await PaymentStore.FindAsync(order.Connection, payment.OrderId, cancellationToken))!));
        }

        if (intent.Status != "canceled")
        {
            return new ConfirmOutcome.ProviderUnavailable("The payment is still being processed; retry shortly.");
        }

        await PaymentStore.ForgetIntentAsync(order.Connection, payment.PaymentId, intent.Id, cancellationToken);
        var attempt = await PaymentStore.BeginAttemptAsync(order.Connection, payment.PaymentId, paymentMethod, cancellationToken);
        return await AttemptAsync(order, payment with { PaymentIntentId = null }, paymentMethod, attempt, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe refused attempt {Attempt} of order {OrderId} ({Code}): {Error}")]
    private static partial void LogAttemptRefused(ILogger logger, int attempt, Guid orderId, string? code, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stripe did not complete attempt {Attempt} of order {OrderId}: {Error}")]
    private static partial void LogAttemptUnanswered(ILogger logger, int attempt, Guid orderId, string error);
}
