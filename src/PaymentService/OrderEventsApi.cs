using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.PaymentService;

/// <summary>
/// The order events the sidecar delivers (components/subscriptions.yaml). The CloudEvent id keys the
/// inbox. An error answers 500 so the runtime retries (then dead-letters); a message that can never
/// be read is dropped with Dapr's DROP status, which the runtime audits; a cancellation of an order
/// that has not ended answers 422 with the reason, which ends in the dead-letter record.
/// </summary>
public static class OrderEventsApi
{
    public static WebApplication MapOrderEvents(this WebApplication app)
    {
        var events = app.MapGroup("/events").AllowAnonymous();
        events.MapPost("/" + Topics.OrderCreated, async (HttpRequest request, PaymentStore store, CancellationToken cancellationToken) =>
            await CloudEventReader.ReadAsync<OrderCreated>(request, cancellationToken) is { } message && IsComplete(message.Data)
                ? await Handled(store.AddOrderAsync(message.Id, message.Data, cancellationToken))
                : Drop());
        events.MapPost("/" + Topics.OrderCancelled, async Task<IResult> (HttpRequest request, OrderCancellation cancellation, CancellationToken cancellationToken) =>
            await CloudEventReader.ReadAsync<OrderCancelled>(request, cancellationToken) is { } message && message.Data is { UserId: not null, Reason: not null }
                ? await cancellation.HandleAsync(message.Id, message.Data, cancellationToken) is { } refusal ? Refused(refusal) : TypedResults.Ok()
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

    /// <summary>A cancellation that contradicts the order: retried, then dead-lettered with this reason (as daprd does).</summary>
    private static ProblemHttpResult Refused(string reason) =>
        TypedResults.Problem(reason, statusCode: StatusCodes.Status422UnprocessableEntity,
            type: "https://ticketsaga.dev/problems/event-contradicts-order", title: "The event contradicts the order");

    private static JsonHttpResult<DaprStatus> Drop() => TypedResults.Json(new DaprStatus("DROP"));

    private sealed record DaprStatus(string Status);
}
