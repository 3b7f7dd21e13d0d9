using Dapr.Actors.Client;
using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;

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
        var events = app.MapGroup("/events").RequireSidecar();
        events.MapPost(Topics.OrderCreated, (OrderCreated order, IActorProxyFactory actors) =>
            CallTimerAsync(actors, order.OrderId, timer => timer.HoldUntilAsync(order.ExpiresAt)));
        events.MapPost(Topics.OrderCompleted, (OrderCompleted order, IActorProxyFactory actors) =>
            CallTimerAsync(actors, order.OrderId, timer => timer.EndHoldAsync()));
        events.MapPost(Topics.OrderCancelled, (OrderCancelled order, IActorProxyFactory actors) =>
            CallTimerAsync(actors, order.OrderId, timer => timer.EndHoldAsync()));
        return app;
    }

    /// <summary>An event without an order id changes nothing: refused, it is retried and then dead-lettered for inspection.</summary>
    private static async Task<Results<Ok, ProblemHttpResult>> CallTimerAsync(IActorProxyFactory actors, Guid orderId, Func<IReservationTimer, Task> call)
    {
        if (orderId == Guid.Empty)
        {
            return TypedResults.Problem(
                title: "The event names no order.", statusCode: StatusCodes.Status400BadRequest, type: "https://ticketsaga.dev/problems/invalid-event");
        }

        await call(actors.CreateActorProxy<IReservationTimer>(ReservationTimer.IdOf(orderId), nameof(ReservationTimer)));
        return TypedResults.Ok();
    }
}
