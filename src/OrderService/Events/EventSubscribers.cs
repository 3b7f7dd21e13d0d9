using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Events;

/// <summary>
/// Subscribers (declared in components/subscriptions.yaml; the sidecar calls them, no JWT). Each reads
/// the CloudEvent envelope itself: its id keys the inbox. 200 acknowledges; an error status makes the
/// runtime retry (then dead-letter); {"status":"DROP"} records a message that can never apply. A
/// message that contradicts the order (a forged payment) answers 422 with the reason: retried, then
/// dead-lettered with that reason, as daprd dead-letters it too.
/// </summary>
public static class EventSubscribers
{
    public static WebApplication MapEventSubscribers(this WebApplication app)
    {
        var events = app.MapGroup("/events");
        events.MapPost("/" + Topics.PaymentSucceeded, PaymentSucceededAsync);
        events.MapPost("/" + Topics.ExpirationComplete, ExpirationCompleteAsync);
        return app;
    }

    private static async Task<Results<Ok<DaprAnswer>, ProblemHttpResult>> PaymentSucceededAsync(
        HttpRequest request, OrderEvents handler, CancellationToken cancellationToken) =>
        await CloudEventReader.ReadAsync<PaymentSucceeded>(request, cancellationToken) is { } message
            ? await handler.PaymentSucceededAsync(message.Id, message.Data, cancellationToken) switch
            {
                { Refusal: { } refusal } => Refused(refusal),
                var outcome => Answer(outcome.Applies),
            }
            : Malformed();

    private static async Task<Results<Ok<DaprAnswer>, ProblemHttpResult>> ExpirationCompleteAsync(
        HttpRequest request, OrderEvents handler, CancellationToken cancellationToken) =>
        await CloudEventReader.ReadAsync<ExpirationComplete>(request, cancellationToken) is { } message
            ? Answer(await handler.ExpirationCompleteAsync(message.Id, message.Data, cancellationToken))
            : Malformed();

    private static Results<Ok<DaprAnswer>, ProblemHttpResult> Answer(bool applies) => TypedResults.Ok(new DaprAnswer(applies ? "SUCCESS" : "DROP"));

    private static Results<Ok<DaprAnswer>, ProblemHttpResult> Malformed() =>
        TypedResults.Problem("The body is not a CloudEvent with an id and this topic's data.", statusCode: 400,
            type: "https://ticketsaga.dev/problems/malformed-event", title: "Malformed event");

    private static Results<Ok<DaprAnswer>, ProblemHttpResult> Refused(string reason) =>
        TypedResults.Problem(reason, statusCode: StatusCodes.Status422UnprocessableEntity,
            type: "https://ticketsaga.dev/problems/event-contradicts-order", title: "The event contradicts the order");

    /// <summary>Dapr's subscriber answer: SUCCESS acknowledges, DROP gives up on the message (the runtime records it).</summary>
    public sealed record DaprAnswer(string Status);
}

/// <summary>What a payment did: applied, dropped (unknown order), or refused because it contradicts the order.</summary>
public sealed record PaymentOutcome(bool Applies, string? Refusal = null)
{
    public static PaymentOutcome Applied { get; } = new(true);

    public static PaymentOutcome Dropped { get; } = new(false);
}

/// <summary>Turns pub/sub messages into saga events, exactly once per CloudEvent id.</summary>
public sealed partial class OrderEvents(OrderStore orders, OrderSagas sagas, ILogger<OrderEvents> logger)
{
    /// <returns>Dropped when the order is unknown (audited by the runtime); refused when the payment is not for this order's amount and currency.</returns>
    public async Task<PaymentOutcome> PaymentSucceededAsync(string messageId, PaymentSucceeded payment, CancellationToken cancellationToken)
    {
        if (await orders.HasHandledAsync(messageId, cancellationToken))
        {
            return PaymentOutcome.Applied;
        }

        var order = await orders.GetAsync(payment.OrderId, cancellationToken);
        if (order is null)
        {
            LogPaymentForUnknownOrder(logger, payment.PaymentId, payment.OrderId);
            return PaymentOutcome.Dropped;
        }

        // Defence in depth behind the sidecar's scopes: only money the order asked for confirms it.
        if (payment.AmountMinor != order.AmountMinor || !string.Equals(payment.Currency, order.Currency, StringComparison.OrdinalIgnoreCase))
        {
            var refusal = $"Payment {payment.PaymentId} of {payment.AmountMinor} {payment.Currency} does not match order {order.OrderId}, " +
                $"which costs {order.AmountMinor} {order.Currency}; the order is not confirmed by it.";
            LogPaymentRefused(logger, payment.PaymentId, payment.OrderId, refusal);
            return new PaymentOutcome(false, refusal);
        }

        if (order.IsLive)
        {
            // Raised before the inbox row commits: should that commit fail, the redelivery raises again,
            // which the saga ignores once it has moved on.
            await sagas.SignalAsync(order, SagaSignal.PaymentSucceeded, cancellationToken);
        }

        // Records the payment; an order that has ended by now answers it with PAYMENT_AFTER_END (refund).
        await orders.RecordPaymentAsync(messageId, payment, cancellationToken);
        return PaymentOutcome.Applied;
    }

    public async Task<bool> ExpirationCompleteAsync(string messageId, ExpirationComplete expiry, CancellationToken cancellationToken)
    {
        if (await orders.HasHandledAsync(messageId, cancellationToken))
        {
            return true;
        }

        var order = await orders.GetAsync(expiry.OrderId, cancellationToken);
        if (order is null)
        {
            LogExpiryForUnknownOrder(logger, expiry.OrderId);
            return false;
        }

        // An order that has ended (CONFIRMED included) ignores its expiry.
        if (order.IsLive)
        {
            await sagas.SignalAsync(order, SagaSignal.Expired, cancellationToken);
        }

        await orders.RecordHandledAsync(messageId, Topics.ExpirationComplete, expiry.OrderId, cancellationToken);
        return true;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payment {PaymentId} is for unknown order {OrderId}")]
    private static partial void LogPaymentForUnknownOrder(ILogger logger, Guid paymentId, Guid orderId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Refused payment {PaymentId} for order {OrderId}: {Refusal}")]
    private static partial void LogPaymentRefused(ILogger logger, Guid paymentId, Guid orderId, string refusal);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Expiry for unknown order {OrderId}")]
    private static partial void LogExpiryForUnknownOrder(ILogger logger, Guid orderId);
}
