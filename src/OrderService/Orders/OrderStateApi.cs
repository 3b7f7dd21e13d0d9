using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Orders;

/// <summary>
/// What other services may ask about an order through Dapr service invocation, without a user's
/// token: payment-service checks that a cancellation is for an order that has really ended before
/// it refunds, asks how an order ended whose cancellation never reached it, and makes payable an order
/// whose orders.order.created never reached it. Outside /orders, so the gateway's public routes never reach it; accessControl lets
/// only payment-service call it.
/// </summary>
public static class OrderStateApi
{
    public const string Path = "/internal/orders";

    public static WebApplication MapOrderStateApi(this WebApplication app)
    {
        app.MapGet(Path + "/{orderId:guid}", async Task<Results<Ok<OrderState>, NotFound>> (Guid orderId, OrderStore orders, CancellationToken cancellationToken) =>
            await orders.GetAsync(orderId, cancellationToken) is { } order
                ? TypedResults.Ok(new OrderState(order.OrderId, order.UserId, order.Status, order.CancellationReason, order.AmountMinor, order.Currency, order.ExpiresAt))
                : TypedResults.NotFound())
            .RequireSidecar();
        return app;
    }

    public sealed record OrderState(
        Guid OrderId, string UserId, string Status, string? CancellationReason, long AmountMinor, string Currency, DateTimeOffset ExpiresAt);
}
