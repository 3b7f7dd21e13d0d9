using System.Globalization;
using System.Text.Json;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using TicketSaga.Gateway.Idempotency;
using TicketSaga.ServiceDefaults;
using Yarp.ReverseProxy.Model;

namespace TicketSaga.Gateway.Admission;

/// <summary>
/// The door of POST /orders, before anything is forwarded: a ticket type known to be sold out is
/// answered 409 at once (<see cref="TicketAvailability"/>); the event's waiting room admits buyers in
/// arrival order (<see cref="WaitingRoom"/>); at most Gateway:MaxOrdersInFlight orders are forwarded at
/// once, and a buyer beyond that is answered 503 with Retry-After at once rather than queued in memory.
/// </summary>
internal sealed class OrderAdmission(
    TicketAvailability availability, WaitingRoom room, IdempotencyStore idempotencyKeys, IOptions<GatewayOptions> options) : IMiddleware, IDisposable
{
    public const string RouteId = "create-order";
    public const string QueueTokenHeader = "Queue-Token";
    private const string TicketIdName = "ticket_id";
    private static readonly JsonDocumentOptions StrictJson = new() { AllowDuplicateProperties = false };

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

        var body = await ReadBodyAsync(context.Request);
        if (body.Refusal is { } unreadable)
        {
            await GatewayProblems.WriteAsync(context, unreadable);
            return;
        }

        if (body.TicketId is not { } ticketId)
        {
            // No ticket type named: order-service refuses the order, and says why.
            await ForwardAsync(context, next);
            return;
        }

        if (await EnterAsync(context, next, ticketId) is { } refusal)
        {
            // A retry of a key already used gets that key's answer (its order may have taken the last ticket), not the door's.
            await (await RetriesAKnownKeyAsync(context) ? ForwardAsync(context, next) : refusal(context));
        }
    }

    /// <summary>Forwards the buyer the door lets in; else returns the door's answer, not yet written.</summary>
    private async Task<Func<HttpContext, Task>?> EnterAsync(HttpContext context, RequestDelegate next, Guid ticketId)
    {
        TicketFacts ticket;
        switch (await availability.FindAsync(ticketId, context.RequestAborted))
        {
            case TicketLookup.Found found:
                ticket = found.Facts;
                break;
            case TicketLookup.Unknown:
                // Failing closed: a buyer let past an unread door would skip the waiting room just when the system is struggling.
                return c => WriteOverloadedAsync(c, "Ticket availability cannot be read right now; try again shortly.");
            default:
                await ForwardAsync(context, next);
                return null;
        }

        if (await availability.IsSoldOutAsync(ticket, ticketId, context.RequestAborted))
        {
            return c => GatewayProblems.WriteAsync(c, GatewayProblems.Create(
                StatusCodes.Status409Conflict, GatewayProblems.SoldOut, "Sold out", $"Ticket type {ticketId} has nothing available."));
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

                return null;
            }
        }

        return admission switch
        {
            Admission.Queued queued => c => WriteQueuedAsync(c, queued),
            Admission.TokenRefused refused => c => GatewayProblems.WriteAsync(c, GatewayProblems.Create(
                StatusCodes.Status403Forbidden, GatewayProblems.InvalidQueueToken, "Invalid Queue-Token", refused.Reason)),
            _ /* Admission.Full */ => c => WriteOverloadedAsync(c, "The waiting room of this event is full; try again later."),
        };
    }

    private async Task<bool> RetriesAKnownKeyAsync(HttpContext context) =>
        context.Request.Headers[IdempotentRequests.HeaderName] is { Count: 1 } key
        && await idempotencyKeys.IsKnownAsync(context.User.UserId(), key.ToString(), context.RequestAborted);

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

    private Task WriteOverloadedAsync(HttpContext context, string detail) =>
        GatewayProblems.WriteOverloadedAsync(context, options.Value.OverloadRetryAfter, detail);

    private static Task WriteQueuedAsync(HttpContext context, Admission.Queued queued)
    {
        var seconds = (int)queued.RetryAfter.TotalSeconds;
        context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var problem = GatewayProblems.Create(StatusCodes.Status503ServiceUnavailable, GatewayProblems.WaitingRoom, "In the waiting room",
            $"You are number {queued.Position} in the queue. Send the same request again with the header {QueueTokenHeader} in {seconds} s.");
        problem.Extensions["position"] = queued.Position;
        problem.Extensions["queue_token"] = queued.Token;

        // The name before the API's snake_case applied here too, kept for clients written against it.
        problem.Extensions["queueToken"] = queued.Token;
        return GatewayProblems.WriteAsync(context, problem);
    }

    /// <summary>
    /// The body's ticket_id, read from the buffered body (rewound for the forwarder). The door and
    /// order-service must read the same ticket type from a body, or a buyer could pass the door with one
    /// and buy another: order-service matches names case-insensitively and decodes a declared charset,
    /// so a body the door cannot read in exactly one way (a name twice included) is refused here.
    /// </summary>
    private static async Task<OrderBody> ReadBodyAsync(HttpRequest request)
    {
        if (!request.HasJsonContentType()
            || (MediaTypeHeaderValue.TryParse(request.ContentType, out var mediaType)
                && mediaType.Charset is { HasValue: true } charset && !charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            return new(null, GatewayProblems.Create(StatusCodes.Status415UnsupportedMediaType, GatewayProblems.UnsupportedMediaType,
                RequestSafetyExtensions.UnsupportedMediaTypeTitle, RequestSafetyExtensions.NotJsonInUtf8));
        }

        request.EnableBuffering();
        try
        {
            using var body = await JsonDocument.ParseAsync(request.Body, StrictJson, request.HttpContext.RequestAborted);
            if (body.RootElement.ValueKind != JsonValueKind.Object)
            {
                return default;
            }

            JsonElement? ticket = null;
            foreach (var property in body.RootElement.EnumerateObject())
            {
                if (property.Name.Equals(TicketIdName, StringComparison.OrdinalIgnoreCase))
                {
                    if (ticket is not null || property.Name != TicketIdName)
                    {
                        return new(null, Malformed($"Name the ticket type once, as '{TicketIdName}'."));
                    }

                    ticket = property.Value;
                }
            }

            return ticket is { ValueKind: JsonValueKind.String } id && Guid.TryParse(id.GetString(), out var ticketId) ? new(ticketId, null) : default;
        }
        catch (JsonException)
        {
            // Repeated names included (StrictJson).
            return new(null, Malformed(RequestSafetyExtensions.NotTheExpectedJson));
        }
        finally
        {
            request.Body.Position = 0;
        }
    }

    /// <summary>The answer order-service gives a body it cannot read.</summary>
    private static ProblemDetails Malformed(string detail) =>
        GatewayProblems.Create(StatusCodes.Status400BadRequest, RequestSafetyExtensions.MalformedBody, RequestSafetyExtensions.MalformedBodyTitle, detail);

    /// <param name="TicketId">The ticket type the body names; null when it names none order-service would take.</param>
    /// <param name="Refusal">The answer to a body the door refuses.</param>
    private readonly record struct OrderBody(Guid? TicketId, ProblemDetails? Refusal);

    public void Dispose() => _inFlight.Dispose();
}
