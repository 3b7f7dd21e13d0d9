using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.PaymentService.Events;

/// <summary>
/// The order events the sidecar delivers (components/subscriptions.yaml; no JWT). The CloudEvent id
/// keys the inbox. Answers follow <see cref="DaprAnswer"/>.
/// </summary>
public static class EventSubscribers
{
    public static WebApplication MapEventSubscribers(this WebApplication app)
    {
        var events = app.MapGroup("/events").RequireSidecar();
        events.MapPost(Topics.OrderCreated, OrderCreatedAsync);
        events.MapPost(Topics.OrderCancelled, OrderCancelledAsync);
        return app;
    }

    private static async Task<DaprAnswer> OrderCreatedAsync(HttpRequest request, PaymentStore store, CancellationToken cancellationToken)
    {
        if (await CloudEventReader.ReadAsync<OrderCreated>(request, cancellationToken) is not { } message || !IsComplete(message.Data))
        {
            return Malformed;
        }

        await store.CreatePaymentAsync(message.Id, message.Data, cancellationToken);
        return DaprAnswer.Success;
    }

    private static async Task<DaprAnswer> OrderCancelledAsync(HttpRequest request, OrderCancellation cancellation, CancellationToken cancellationToken)
    {
        if (await CloudEventReader.ReadAsync<OrderCancelled>(request, cancellationToken) is not { Data: { UserId: not null, Reason: not null } } message)
        {
            return Malformed;
        }

        // A cancellation of an order that has not ended (forged) changes nothing and is dead-lettered with the reason.
        return await cancellation.HandleAsync(message.Id, message.Data, cancellationToken) is { } refusal
            ? DaprAnswer.Drop(refusal)
            : DaprAnswer.Success;
    }

    private static bool IsComplete(OrderCreated order) =>
        order is { UserId: not null, Currency.Length: 3, AmountMinor: >= 0 } && order.OrderId != Guid.Empty;

    private static DaprAnswer Malformed { get; } = DaprAnswer.Drop("the body is not a CloudEvent with an id and this topic's complete data");
}
