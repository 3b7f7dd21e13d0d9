using Dapr.Actors.Client;
using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.ExpirationService.Events;

/// <summary>
/// The order events the sidecar delivers (components/subscriptions.yaml). Each one is a call on the
/// order's timer actor, which makes duplicates and late arrivals harmless. Answers follow
/// <see cref="DaprAnswer"/>: a failed actor call answers 500 and is retried.
/// </summary>
public static class EventSubscribers
{
    public static WebApplication MapEventSubscribers(this WebApplication app)
    {
        var events = app.MapGroup("/events").RequireSidecar();
        events.MapPost(Topics.OrderCreated, async (HttpRequest request, IActorProxyFactory actors, CancellationToken cancellationToken) =>
            await CloudEventReader.ReadAsync<OrderCreated>(request, cancellationToken) is { } message
                ? await CallTimerAsync(actors, message.Data.OrderId, timer => timer.HoldUntilAsync(message.Data.ExpiresAt))
                : Malformed);
        events.MapPost(Topics.OrderCompleted, async (HttpRequest request, IActorProxyFactory actors, CancellationToken cancellationToken) =>
            await CloudEventReader.ReadAsync<OrderCompleted>(request, cancellationToken) is { } message
                ? await CallTimerAsync(actors, message.Data.OrderId, timer => timer.EndHoldAsync())
                : Malformed);
        events.MapPost(Topics.OrderCancelled, async (HttpRequest request, IActorProxyFactory actors, CancellationToken cancellationToken) =>
            await CloudEventReader.ReadAsync<OrderCancelled>(request, cancellationToken) is { } message
                ? await CallTimerAsync(actors, message.Data.OrderId, timer => timer.EndHoldAsync())
                : Malformed);
        return app;
    }

    private static DaprAnswer Malformed { get; } = DaprAnswer.Drop("the body is not a CloudEvent with an id and this topic's data");

    private static async Task<DaprAnswer> CallTimerAsync(IActorProxyFactory actors, Guid orderId, Func<IReservationTimer, Task> call)
    {
        if (orderId == Guid.Empty)
        {
            return DaprAnswer.Drop("the event names no order");
        }

        await call(actors.CreateActorProxy<IReservationTimer>(ReservationTimer.IdOf(orderId), nameof(ReservationTimer)));
        return DaprAnswer.Success;
    }
}
