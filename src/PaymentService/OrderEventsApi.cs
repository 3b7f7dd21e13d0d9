using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.PaymentService;

/// <summary>
/// The order events the sidecar delivers (components/subscriptions.yaml). The CloudEvent id keys the
/// inbox. An error answers 500 so the runtime retries (then dead-letters); a message that can never
/// be read is dropped with Dapr's DROP status, which the runtime audits.
/// </summary>
public static class OrderEventsApi
{
    public static WebApplication MapOrderEvents(this WebApplication app)
    {
        var events = app.MapGroup("/events").RequireSidecar();
        events.MapPost("/" + Topics.OrderCreated, async (HttpRequest request, PaymentStore store, CancellationToken cancellationToken) =>
            await CloudEventReader.ReadAsync<OrderCreated>(request, cancellationToken) is { } message && IsComplete(message.Data)
                ? await Handled(store.AddOrderAsync(message.Id, message.Data, cancellationToken))
                : Drop());
        events.MapPost("/" + Topics.OrderCancelled, async (HttpRequest request, OrderCancellation cancellation, CancellationToken cancellationToken) =>
            await CloudEventReader.ReadAsync<OrderCancelled>(request, cancellationToken) is { } message && message.Data is { UserId: not null, Reason: not null }
                ? await Handled(cancellation.HandleAsync(message.Id, message.Data, cancellationToken))
                : Drop());
        return app;
    }

    private static bool IsComplete(OrderCreated order) =>
        order is { UserId: not null, Currency.Length: 3, AmountMinor: >= 0 } && order.OrderId != Guid.Empty;

    private static async Task<IResult> Handled(Task handling)
    {
        await handling;
        return TypedResults.Ok();
    }

    private static JsonHttpResult<DaprStatus> Drop() => TypedResults.Json(new DaprStatus("DROP"));

    private sealed record DaprStatus(string Status);
}
