using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Events;

/// <summary>Turns payment and expiry messages into signals to the order's saga, exactly once per CloudEvent id.</summary>
public sealed partial class OrderSignals(OrderStore orders, OrderSagas sagas, TimeProvider clock, ILogger<OrderSignals> logger)
{
    /// <summary>expires_at as order-service stores it (microseconds) and as the event carried it (ticks).</summary>
    private static readonly TimeSpan ExpiresAtPrecision = TimeSpan.FromMilliseconds(1);

    public async Task<DaprAnswer> PaymentSucceededAsync(string messageId, PaymentSucceeded payment, CancellationToken cancellationToken)
    {
        if (await orders.HasHandledAsync(messageId, cancellationToken))
        {
            return DaprAnswer.Success;
        }

        var order = await orders.GetAsync(payment.OrderId, cancellationToken);
        if (order is null)
        {
            LogPaymentForUnknownOrder(logger, payment.PaymentId, payment.OrderId);
            return DaprAnswer.Drop($"payment {payment.PaymentId} is for unknown order {payment.OrderId}");
        }

        // Defence in depth behind the sidecar's scopes: only money the order asked for confirms it.
        if (!order.Costs(payment.AmountMinor, payment.Currency))
        {
            var refusal = $"payment {payment.PaymentId} of {payment.AmountMinor} {payment.Currency} does not match order {order.OrderId}, "
                + $"which costs {order.AmountMinor} {order.Currency}; the order is not confirmed by it";
            LogPaymentRefused(logger, payment.PaymentId, payment.OrderId, refusal);
            return DaprAnswer.Drop(refusal);
        }

        // The deadline rule: only money captured at or before expires_at buys the order. A later capture is
        // recorded without a signal, and the compensation at the end of the settle window refunds it.
        if (payment.SucceededAt > order.ExpiresAt)
        {
            LogCapturedAfterExpiry(logger, payment.PaymentId, payment.OrderId, payment.SucceededAt, order.ExpiresAt);
        }
        else if (order.IsLive)
        {
            // Raised before the inbox row commits: should that commit fail, the redelivery raises again,
            // which the saga ignores once it has moved on.
            await sagas.SignalAsync(order, SagaSignal.PaymentSucceeded, cancellationToken);
        }

        // Records the payment; an order that has ended by now answers it with PAYMENT_AFTER_END (refund).
        await orders.RecordPaymentAsync(messageId, payment, cancellationToken);
        return DaprAnswer.Success;
    }

    public async Task<DaprAnswer> ExpirationCompleteAsync(string messageId, ExpirationComplete expiry, CancellationToken cancellationToken)
    {
        if (await orders.HasHandledAsync(messageId, cancellationToken))
        {
            return DaprAnswer.Success;
        }

        var order = await orders.GetAsync(expiry.OrderId, cancellationToken);
        if (order is null)
        {
            LogExpiryForUnknownOrder(logger, expiry.OrderId);
            return DaprAnswer.Drop($"expiry of unknown order {expiry.OrderId}");
        }

        // The hold's own timer names the order's expires_at. An expiry for another moment did not come from it
        // (an actor call from another app can schedule one): it would cut the customer's hold short.
        if ((expiry.ExpiresAt - order.ExpiresAt).Duration() > ExpiresAtPrecision)
        {
            var refusal = $"expiry of order {order.OrderId} names {expiry.ExpiresAt:O}, not the order's expires_at {order.ExpiresAt:O}; the order is not expired by it";
            LogExpiryRefused(logger, order.OrderId, refusal);
            return DaprAnswer.Drop(refusal);
        }

        // An order that has ended (CONFIRMED included) ignores its expiry. An early one (the services' clocks
        // apart) starts the settle window now. From expires_at on, the signal would set the very end of the
        // settle window the saga's own timer waits for (expires_at + settle window), so the message changes
        // nothing, and asking the runtime whether the saga runs would cost a storm of expiries a workflow read
        // each: a saga lost in a crash is the sweeper's to replace, and only without a sweeper is it asked here.
        if (order.IsLive)
        {
            if (clock.GetUtcNow() < order.ExpiresAt)
            {
                await sagas.SignalAsync(order, SagaSignal.Expired, cancellationToken);
            }
            else if (!sagas.SweeperReplacesLostSagas)
            {
                await sagas.EnsureRunningAsync(order, cancellationToken);
            }
        }

        await orders.RecordHandledAsync(messageId, Topics.ExpirationComplete, expiry.OrderId, cancellationToken);
        return DaprAnswer.Success;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payment {PaymentId} is for unknown order {OrderId}; dropped")]
    private static partial void LogPaymentForUnknownOrder(ILogger logger, Guid paymentId, Guid orderId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused payment {PaymentId} for order {OrderId}: {Refusal}")]
    private static partial void LogPaymentRefused(ILogger logger, Guid paymentId, Guid orderId, string refusal);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "Payment {PaymentId} for order {OrderId} was captured at {CapturedAt:O}, after the order expired at {ExpiresAt:O}: it will be refunded")]
    private static partial void LogCapturedAfterExpiry(ILogger logger, Guid paymentId, Guid orderId, DateTimeOffset capturedAt, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused expiry of order {OrderId}: {Refusal}")]
    private static partial void LogExpiryRefused(ILogger logger, Guid orderId, string refusal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Expiry for unknown order {OrderId}; dropped")]
    private static partial void LogExpiryForUnknownOrder(ILogger logger, Guid orderId);
}
