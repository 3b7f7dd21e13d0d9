using Grpc.Core;

namespace TicketSaga.OrderService.Orders;

/// <summary>
/// An error a client sees as ProblemDetails (RFC 9457): stable type, status, text it can show, and
/// when it may simply try again (Retry-After).
/// </summary>
public sealed record OrderProblem(int Status, string Type, string Title, string Detail, TimeSpan? RetryAfter = null)
{
    private const string Base = "https://ticketsaga.dev/problems/";

    public static OrderProblem Invalid(string detail) => new(422, Base + "invalid-order", "The order is not valid", detail);

    public static OrderProblem SoldOut(string detail) => new(409, Base + "sold-out", "Sold out", detail);

    public static OrderProblem SeatsTaken(string detail) => new(409, Base + "seats-taken", "Seats are not available", detail);

    public static OrderProblem OverMaxPerUser(string detail) => new(422, Base + "max-per-user", "Over the limit per customer", detail);

    public static OrderProblem NotOnSale(string detail) => new(409, Base + "not-on-sale", "Not on sale", detail);

    public static OrderProblem TicketNotFound(string detail) => new(404, Base + "ticket-not-found", "Unknown ticket type", detail);

    public static OrderProblem OrderNotFound(Guid orderId) => new(404, Base + "order-not-found", "Unknown order", $"Order {orderId} does not exist.");

    public static OrderProblem OrderEnded(Guid orderId, string status) =>
        new(409, Base + "order-ended", "The order has ended", $"Order {orderId} is {status} and can no longer be cancelled.");

    public static OrderProblem InvalidIdempotencyKey(string detail) => new(400, Base + "invalid-idempotency-key", "Invalid Idempotency-Key", detail);

    /// <summary>The same type as the gateway's answer: the key was first used with another request.</summary>
    public static OrderProblem IdempotencyKeyReused() => new(422, Base + "idempotency-key-reused", "Idempotency-Key reused",
        "This Idempotency-Key was already used with a different request; use a new key for a new order.");

    public static OrderProblem PlacementInProgress() => new(409, Base + "order-in-progress", "Order in progress",
        "An order with this Idempotency-Key is still being placed; retry shortly to get it.", TimeSpan.FromSeconds(1));

    public static OrderProblem Unavailable(string detail) =>
        new(503, Base + "dependency-unavailable", "Try again shortly", detail);

    /// <summary>ticket-service's statuses for ReserveQuota (see protos/ticket.proto).</summary>
    public static OrderProblem FromTicketService(RpcException error) => error.StatusCode switch
    {
        StatusCode.InvalidArgument => Invalid(error.Status.Detail),
        StatusCode.NotFound => TicketNotFound(error.Status.Detail),
        StatusCode.FailedPrecondition => NotOnSale(error.Status.Detail),
        // RESOURCE_EXHAUSTED is both "sold out" and "over max_per_user"; only the latter speaks of the
        // limit ("... would exceed the limit."). A structured error detail in ticket.proto would be sturdier.
        StatusCode.ResourceExhausted when error.Status.Detail.Contains("limit", StringComparison.OrdinalIgnoreCase) => OverMaxPerUser(error.Status.Detail),
        StatusCode.ResourceExhausted => SoldOut(error.Status.Detail),
        _ => Unavailable($"The ticket service did not answer ({error.StatusCode}); nothing was reserved."),
    };

    /// <summary>venue-service's statuses for ReserveHeldSeats / AutoAssignAndReserve (see protos/venue.proto).</summary>
    public static OrderProblem FromVenueService(RpcException error) => error.StatusCode switch
    {
        StatusCode.InvalidArgument or StatusCode.NotFound => Invalid(error.Status.Detail),
        StatusCode.FailedPrecondition or StatusCode.Aborted => SeatsTaken(error.Status.Detail),
        StatusCode.ResourceExhausted => SoldOut(error.Status.Detail),
        _ => Unavailable($"The venue service did not answer ({error.StatusCode}); nothing was reserved."),
    };

    /// <summary>
    /// Statuses after which the call may still have taken effect (timeout, connection lost): what
    /// was perhaps reserved is released too.
    /// </summary>
    public static bool MayHaveReserved(RpcException error) => error.StatusCode is not
        (StatusCode.InvalidArgument or StatusCode.NotFound or StatusCode.FailedPrecondition
            or StatusCode.ResourceExhausted or StatusCode.AlreadyExists or StatusCode.Aborted);
}

public sealed class OrderProblemException(OrderProblem problem) : Exception(problem.Detail)
{
    public OrderProblem Problem { get; } = problem;
}
