using Dapr.Actors;
using Dapr.Actors.Client;
using TicketSaga.Contracts;

namespace TicketSaga.ExpirationService;

public static class ExpirationServiceExtensions
{
    /// <summary>The expiration service's own wiring: the Dapr client it publishes with and the hold timer actor.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddDaprClient();
        builder.Services.AddActors(options => options.Actors.RegisterActor<ReservationTimer>());
        return builder;
    }

    /// <summary>
    /// The order events the sidecar delivers (declarative subscriptions in components/subscriptions.yaml).
    /// Each one is a call on the order's timer actor, which makes duplicates and late arrivals harmless;
    /// a failed call answers 500 so the runtime retries the delivery.
    /// </summary>
    public static WebApplication MapOrderEventSubscribers(this WebApplication app)
    {
        var events = app.MapGroup("/events");
        events.MapPost(Topics.OrderCreated, async (OrderCreated order, IActorProxyFactory actors) =>
        {
            await TimerOf(actors, order.OrderId).HoldUntilAsync(order.ExpiresAt);
            return TypedResults.Ok();
        });
        events.MapPost(Topics.OrderCompleted, async (OrderCompleted order, IActorProxyFactory actors) =>
        {
            await TimerOf(actors, order.OrderId).EndHoldAsync();
            return TypedResults.Ok();
        });
        events.MapPost(Topics.OrderCancelled, async (OrderCancelled order, IActorProxyFactory actors) =>
        {
            await TimerOf(actors, order.OrderId).EndHoldAsync();
            return TypedResults.Ok();
        });
        return app;
    }

    private static IReservationTimer TimerOf(IActorProxyFactory actors, Guid orderId) =>
        actors.CreateActorProxy<IReservationTimer>(ReservationTimer.IdOf(orderId), nameof(ReservationTimer));
}
