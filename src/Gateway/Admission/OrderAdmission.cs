using System.Globalization;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using TicketSaga.ServiceDefaults;
using Yarp.ReverseProxy.Model;

namespace TicketSaga.Gateway.Admission;

/// <summary>
/// The door of POST /orders, before anything is forwarded: a ticket type known to be sold out is
/// answered 409 at once (<see cref="TicketAvailability"/>); the event's waiting room admits buyers in
/// arrival order (<see cref="WaitingRoom"/>); at most Gateway:MaxOrdersInFlight orders are forwarded at
/// once, and a buyer beyond that is answered 503 with Retry-After at once rather than queued in memory.
/// </summary>
internal sealed class OrderAdmission(TicketAvailability availability, WaitingRoom room, IOptions<GatewayOptions> options) : IMiddleware, IDisposable
{
    public const string RouteId = "create-order";
    public const string QueueTokenHeader = "Queue-Token";

    private readonly ConcurrencyLimiter _inFlight = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.MaxOrdersInFlight,
        QueueLimit = 0,
    });

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        if (context.GetReverseProxyFeature().Route.Config.RouteId != RouteId)
        {
            await next(context);
            return;
        }

        if (await TicketIdAsync(context.Request) is not { } ticketId)
        {
            // A malformed body: order-service answers it.
            await ForwardAsync(context, next);
            return;
        }

        TicketFacts ticket;
        switch (await availability.FindAsync(ticketId, context.RequestAborted))
        {
            case TicketLookup.Found found:
                ticket = found.Facts;
                break;
            case TicketLookup.Unknown:
                // Failing closed: a buyer let past an unread door would skip the waiting room just when the system is struggling.
                await WriteOverloadedAsync(context, "Ticket availability cannot be read right now; try again shortly.");
                return;
            default:
                await ForwardAsync(context, next);
                return;
        }

        if (await availability.IsSoldOutAsync(ticket, ticketId, context.RequestAborted))
        {
            await GatewayProblems.WriteAsync(context, GatewayProblems.Create(
                StatusCodes.Status409Conflict, GatewayProblems.SoldOut, "Sold out", $"Ticket type {ticketId} has nothing available."));
            return;
        }

        var token = context.Request.Headers[QueueTokenHeader] is { Count: 1 } header ? header.ToString() : null;
        Admission admission;
        // The permit is taken before the room decides, so a buyer it lets in has their place downstream
        // (read first and taken after, another buyer could take it in between); it goes back before any other answer.
        using (var lease = _inFlight.AttemptAcquire())
        {
            admission = room.Enter(ticket.EventId, context.User.UserId(), token, ordersInFlightFull: !lease.IsAcquired);
            if (admission is Admission.Admitted)
            {
                await ForwardAsync(context, next, lease, ticket.EventId, ticketId);
                if (context.Response.StatusCode == StatusCodes.Status409Conflict)
                {
                    // Sold out, seats taken or not on sale: from now on each buyer's read decides (a 409 of another kind costs one read).
                    ticket.SuspectedSoldOut = true;
                }

                return;
            }
        }

        switch (admission)
        {
            case Admission.Queued queued:
                await WriteQueuedAsync(context, queued);
                return;
            case Admission.TokenRefused refused:
                await GatewayProblems.WriteAsync(context, GatewayProblems.Create(
                    StatusCodes.Status403Forbidden, GatewayProblems.InvalidQueueToken, "Invalid Queue-Token", refused.Reason));
                return;
            case Admission.Full:
                await WriteOverloadedAsync(context, "The waiting room of this event is full; try again later.");
                return;
        }
    }

    /// <summary>An order the door cannot place in a room (no ticket_id, or one ticket-service does not know).</summary>
    private async Task ForwardAsync(HttpContext context, RequestDelegate next)
    {
        using var lease = _inFlight.AttemptAcquire();
        await ForwardAsync(context, next, lease, eventId: null, ticketId: null);
    }

    /// <param name="lease">The in-flight permit for this order; without one the buyer is answered 503 overloaded.</param>
    private async Task ForwardAsync(HttpContext context, RequestDelegate next, RateLimitLease lease, string? eventId, Guid? ticketId)
    {
        if (!lease.IsAcquired)
        {
            await WriteOverloadedAsync(context, "Too many orders are being placed right now; try again shortly.");
            return;
        }

        await next(context);
        if (eventId is not null && ticketId is not null && context.Response.StatusCode < StatusCodes.Status500InternalServerError)
        {
            room.Completed(eventId);
        }
    }

    private Task WriteOverloadedAsync(HttpContext context, string detail)
    {
        context.Response.Headers.RetryAfter = ((int)Math.Ceiling(options.Value.OverloadRetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return GatewayProblems.WriteAsync(context, GatewayProblems.Create(
            StatusCodes.Status503ServiceUnavailable, GatewayProblems.Overloaded, "Overloaded", detail));
    }

    private static Task WriteQueuedAsync(HttpContext context, Admission.Queued queued)
    {
        var seconds = (int)queued.RetryAfter.TotalSeconds;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = GatewayProblems.Create(StatusCodes.Status503ServiceUnavailable, GatewayProblems.WaitingRoom, "In the waiting room",
            $"You are number {queued.Position} in the queue. Send the same request again with the header {QueueTokenHeader} in {seconds} s.");
        problem.Extensions["position"] = queued.Position;
        problem.Extensions["queueToken"] = queued.Token;
        return GatewayProblems.WriteAsync(context, problem);
    }

    /// <summary>The body's ticket_id, read from the buffered body (rewound for the forwarder); null when there is none to read.</summary>
    private static async Task<Guid?> TicketIdAsync(HttpRequest request)
    {
        request.EnableBuffering();
        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: request.HttpContext.RequestAborted);
            return body.RootElement.ValueKind == JsonValueKind.Object
                && body.RootElement.TryGetProperty("ticket_id", out var id) && id.ValueKind == JsonValueKind.String
                && Guid.TryParse(id.GetString(), out var ticketId)
                ? ticketId
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
        finally
        {
            request.Body.Position = 0;
        }
    }

    public void Dispose() => _inFlight.Dispose();
}
