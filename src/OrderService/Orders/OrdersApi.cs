using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Saga;
using TicketSaga.PublicApi;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Orders;

/// <summary>The public response types (TicketSaga.PublicApi) made from orders as stored.</summary>
public static class OrderResponses
{
    extension(OrderResponse)
    {
        public static OrderResponse From(Order order) => new(
            order.OrderId, order.Status, order.TicketId, order.Qty, order.ExpiresAt,
            [.. order.Seats.Select(s => new ReservedSeat(s.SeatId, s.Label))],
            order.AmountMinor, order.Currency, order.CancellationReason, order.CreatedAt);
    }
}

/// <summary>The public order API (JWT required; the user is the token's sub). JSON is snake_case.</summary>
public static partial class OrdersApi
{
    public static WebApplication MapOrdersApi(this WebApplication app)
    {
        var orders = app.MapGroup("/orders").RequireAuthorization();
        orders.MapPost("", PlaceAsync);
        orders.MapGet("", ListAsync);
        orders.MapGet("/{orderId:guid}", GetAsync);
        orders.MapGet("/{orderId:guid}/timeline", GetTimelineAsync);
        orders.MapDelete("/{orderId:guid}", CancelAsync);
        return app;
    }

    /// <summary>Idempotency-Key: the header the gateway forwards; the order is derived from (user, key).</summary>
    private const string IdempotencyKeyHeader = "Idempotency-Key";

    /// <summary>Marks the answer to a key that had already placed its order (as the gateway marks its replays).</summary>
    private const string ReplayedHeader = "Idempotent-Replayed";

    private const int MaxIdempotencyKeyLength = 255;

    private static async Task<Results<Created<OrderResponse>, ProblemHttpResult>> PlaceAsync(
        PlaceOrderRequest body, ClaimsPrincipal user, HttpContext http, OrderPlacement placement, OrderSagas sagas, ILogger<OrderPlacement> logger,
        CancellationToken cancellationToken)
    {
        string? idempotencyKey = null;
        if (http.Request.Headers.TryGetValue(IdempotencyKeyHeader, out var keys))
        {
            idempotencyKey = keys.ToString();
            if (keys.Count > 1 || idempotencyKey.Length is 0 or > MaxIdempotencyKeyLength || !idempotencyKey.All(c => c is > ' ' and <= '~'))
            {
                return Problem(OrderProblem.InvalidIdempotencyKey($"Idempotency-Key must be one value of 1 to {MaxIdempotencyKeyLength} visible ASCII characters."));
            }
        }

        if (!Guid.TryParse(body.TicketId, out var ticketId))
        {
            return Problem(OrderProblem.Invalid("ticket_id must be a UUID."));
        }

        var seatIds = new List<Guid>();
        foreach (var seatId in body.SeatIds ?? [])
        {
            if (!Guid.TryParse(seatId, out var id))
            {
                return Problem(OrderProblem.Invalid($"seat_ids: '{seatId}' is not a UUID."));
            }

            seatIds.Add(id);
        }

        PlacedOrder placed;
        try
        {
            placed = await placement.PlaceAsync(
                new PlaceOrder(user.UserId(), ticketId, body.Qty, seatIds, string.IsNullOrWhiteSpace(body.Section) ? null : body.Section, idempotencyKey),
                cancellationToken);
        }
        catch (OrderProblemException ex)
        {
            if (ex.Problem.RetryAfter is { } retryAfter)
            {
                http.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            return Problem(ex.Problem);
        }

        var order = placed.Order;
        if (placed.Replayed)
        {
            // The same answer as the first request got: its saga was started then (or by the sweeper).
            http.Response.Headers[ReplayedHeader] = "true";
            return TypedResults.Created($"/orders/{order.OrderId}", OrderResponse.From(order));
        }

        // The saga starts right after the order commits, so it waits for payment or expiry from the
        // first moment. Should this fail (sidecar down, process dies), the sweeper starts it.
        try
        {
            await sagas.StartAsync(order, CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogSagaNotStarted(logger, ex, order.OrderId);
        }

        return TypedResults.Created($"/orders/{order.OrderId}", OrderResponse.From(order));
    }

    private static async Task<Results<Ok<OrderResponse>, ProblemHttpResult>> GetAsync(
        Guid orderId, ClaimsPrincipal user, OrderStore orders, CancellationToken cancellationToken) =>
        await FindOwnAsync(orderId, user, orders, cancellationToken) is { } order
            ? TypedResults.Ok(OrderResponse.From(order))
            : Problem(OrderProblem.OrderNotFound(orderId));

    private static async Task<Results<Ok<OrderTimeline>, ProblemHttpResult>> GetTimelineAsync(
        Guid orderId, ClaimsPrincipal user, OrderTimelines timelines, CancellationToken cancellationToken) =>
        await timelines.GetAsync(orderId, user.UserId(), cancellationToken) is { } timeline
            ? TypedResults.Ok(timeline)
            : Problem(OrderProblem.OrderNotFound(orderId));

    private static async Task<Results<Ok<OrderPage>, ProblemHttpResult>> ListAsync(
        ClaimsPrincipal user, OrderStore orders, CancellationToken cancellationToken, int? limit = null, Guid? before = null)
    {
        if (limit is < 1 or > OrderPage.MaxLimit)
        {
            return Problem(OrderProblem.Invalid($"limit must be between 1 and {OrderPage.MaxLimit}."));
        }

        var pageSize = limit ?? OrderPage.DefaultLimit;
        // One row more than the page says whether an older page exists, so the last page's next_before is null.
        var rows = await orders.ListForUserAsync(user.UserId(), before, pageSize + 1, cancellationToken);
        var page = rows.Take(pageSize).Select(OrderResponse.From).ToList();
        return TypedResults.Ok(new OrderPage(page, rows.Count > pageSize ? page[^1].OrderId : null));
    }

    /// <summary>The customer gives the hold back before paying: the saga compensates (status CANCELLED).</summary>
    private static async Task<Results<Accepted<OrderResponse>, ProblemHttpResult>> CancelAsync(
        Guid orderId, ClaimsPrincipal user, OrderStore orders, OrderSagas sagas, CancellationToken cancellationToken)
    {
        var order = await FindOwnAsync(orderId, user, orders, cancellationToken);
        if (order is null)
        {
            return Problem(OrderProblem.OrderNotFound(orderId));
        }

        if (order.Status is OrderStatuses.Confirmed or OrderStatuses.Expired or OrderStatuses.Refunded)
        {
            return Problem(OrderProblem.OrderEnded(orderId, order.Status));
        }

        if (order.IsLive)
        {
            try
            {
                await sagas.SignalAsync(order, SagaSignal.CancelledByCustomer, cancellationToken);
            }
            catch (Exception ex) when (ex is Grpc.Core.RpcException or HttpRequestException)
            {
                return Problem(OrderProblem.Unavailable("The cancellation could not be passed on; try again."));
            }
        }

        return TypedResults.Accepted($"/orders/{orderId}", OrderResponse.From(order));
    }

    /// <summary>Someone else's order reads as missing: its existence is not the caller's business.</summary>
    private static async Task<Order?> FindOwnAsync(Guid orderId, ClaimsPrincipal user, OrderStore orders, CancellationToken cancellationToken) =>
        await orders.GetAsync(orderId, cancellationToken) is { } order && order.UserId == user.UserId() ? order : null;

    private static ProblemHttpResult Problem(OrderProblem problem) =>
        TypedResults.Problem(problem.Detail, statusCode: problem.Status, title: problem.Title, type: problem.Type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The saga of order {OrderId} did not start now; the sweeper starts it")]
    private static partial void LogSagaNotStarted(ILogger logger, Exception exception, Guid orderId);
}
