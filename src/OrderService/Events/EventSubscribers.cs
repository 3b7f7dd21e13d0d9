using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Events;

/// <summary>
/// Subscribers (declared in components/subscriptions.yaml; the sidecar calls them, no JWT). Each reads
/// the CloudEvent envelope itself: its id keys the inbox. 200 acknowledges; an error status makes the
/// runtime retry (then dead-letter); {"status":"DROP"} records a message that can never apply.
/// </summary>
public static class EventSubscribers
{
    public static WebApplication MapEventSubscribers(this WebApplication app)
    {
        var events = app.MapGroup("/events").RequireSidecar();
        events.MapPost("/" + Topics.PaymentSucceeded, PaymentSucceededAsync);
        events.MapPost("/" + Topics.ExpirationComplete, ExpirationCompleteAsync);
        return app;
    }

    private static async Task<Results<Ok<DaprAnswer>, ProblemHttpResult>> PaymentSucceededAsync(
        HttpRequest request, OrderEvents handler, CancellationToken cancellationToken) =>
        await CloudEventReader.ReadAsync<PaymentSucceeded>(request, cancellationToken) is { } message
            ? Answer(await handler.PaymentSucceededAsync(message.Id, message.Data, cancellationToken))
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

    /// <summary>Dapr's subscriber answer: SUCCESS acknowledges, DROP gives up on the message (the runtime records it).</summary>
    public sealed record DaprAnswer(string Status);
}

/// <summary>Turns pub/sub messages into saga events, exactly once per CloudEvent id.</summary>
public sealed class OrderEvents(OrderStore orders, OrderSagas sagas, ILogger<OrderEvents> logger)
{
    /// <returns>false when the order is unknown (the message is dropped and audited by the runtime).</returns>
    public async Task<bool> PaymentSucceededAsync(string messageId, PaymentSucceeded payment, CancellationToken cancellationToken)
    {
        if (await orders.HasHandledAsync(messageId, cancellationToken))
        {
            return true;
        }

        var order = await orders.GetAsync(payment.OrderId, cancellationToken);
        if (order is null)
        {
            logger.LogWarning("Payment {PaymentId} is for unknown order {OrderId}", payment.PaymentId, payment.OrderId);
            return false;
        }

        if (order.IsLive)
        {
            // Raised before the inbox row commits: should that commit fail, the redelivery raises again,
            // which the saga ignores once it has moved on.
            await sagas.SignalAsync(order, SagaSignal.PaymentSucceeded, cancellationToken);
        }

        // Records the payment; an order that has ended by now answers it with PAYMENT_AFTER_END (refund).
        await orders.RecordPaymentAsync(messageId, payment, cancellationToken);
        return true;
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
            logger.LogWarning("Expiry for unknown order {OrderId}", expiry.OrderId);
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
}
