using Grpc.Core;
using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.Gateway.Catalog;

/// <summary>
/// The public catalog, composed from the services that own the data: ticket types from ticket-service
/// (ListTicketTypes) and seat maps from venue-service (GetSeatMap), both through Dapr gRPC invocation.
/// An event is the set of ticket types sharing an event_id. Any failed read is a 503 to the caller, whatever
/// the sidecar said (a refusal by the access policy too): the caller did nothing wrong, and the status is logged.
/// </summary>
public static partial class CatalogApi
{
    public static IEndpointRouteBuilder MapCatalogApi(this IEndpointRouteBuilder app)
    {
        var events = app.MapGroup("/events").WithTags("Catalog").AllowAnonymous();
        events.MapGet("/", ListEventsAsync)
            .WithName("ListEvents").WithSummary("Events with their ticket types, prices and availability")
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        events.MapGet("/{id}/seats", GetSeatMapAsync)
            .WithName("GetEventSeats").WithSummary("The live seat map of a seated event")
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status429TooManyRequests).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return app;
    }

    private static async Task<Results<Ok<EventList>, ProblemHttpResult>> ListEventsAsync(
        Tickets.TicketsClient tickets, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        try
        {
            var ticketTypes = tickets.ListTicketTypesAsync(new ListTicketTypesRequest(), cancellationToken: cancellationToken).ResponseAsync;
            var details = tickets.ListEventsAsync(new ListEventsRequest(), cancellationToken: cancellationToken).ResponseAsync;
            // Both awaited, so neither call is left running (nor its failure unobserved) when the other fails.
            await Task.WhenAll(ticketTypes, details);
            var events = (await details).Events.ToDictionary(e => e.EventId);
            return TypedResults.Ok(new EventList([.. (await ticketTypes).TicketTypes.GroupBy(t => t.EventId).Select(t => ToEvent(t, events.GetValueOrDefault(t.Key)))]));
        }
        catch (RpcException ex)
        {
            return Unavailable(loggers, AppIds.TicketService, ex, cancellationToken);
        }
    }

    private static async Task<Results<Ok<EventSeatMap>, ProblemHttpResult>> GetSeatMapAsync(
        string id, string? section, Tickets.TicketsClient tickets, Venues.VenuesClient venues, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var eventId))
        {
            return Problem(StatusCodes.Status400BadRequest, GatewayProblems.InvalidEventId, "Invalid event id", $"'{id}' is not an event id (a UUID).");
        }

        ListTicketTypesResponse ticketTypes;
        try
        {
            ticketTypes = await tickets.ListTicketTypesAsync(new ListTicketTypesRequest { EventId = eventId.ToString() }, cancellationToken: cancellationToken);
        }
        catch (RpcException ex)
        {
            return Unavailable(loggers, AppIds.TicketService, ex, cancellationToken);
        }

        if (ticketTypes.TicketTypes.Count == 0)
        {
            return Problem(StatusCodes.Status404NotFound, GatewayProblems.UnknownEvent, "Unknown event", $"There is no event {eventId}.");
        }

        if (ticketTypes.TicketTypes.Select(t => t.SeatPlanId).FirstOrDefault(p => p.Length > 0) is not { } planId)
        {
            return Problem(StatusCodes.Status404NotFound, GatewayProblems.NoSeatMap, "No seat map", $"Event {eventId} is general admission: it has no seats to choose.");
        }

        try
        {
            var map = await venues.GetSeatMapAsync(new GetSeatMapRequest { PlanId = planId, Section = section ?? "" }, cancellationToken: cancellationToken);
            return TypedResults.Ok(new EventSeatMap(
                eventId, Guid.Parse(map.PlanId), map.Available, map.Held, map.Sold,
                [.. map.Seats.Select(s => new SeatView(Guid.Parse(s.SeatId), s.Label, s.Section, s.Row, s.Number, SeatStatusName(s.Status)))]));
        }
        catch (RpcException ex) when (ex.StatusCode is StatusCode.NotFound or StatusCode.InvalidArgument)
        {
            // A fixed detail: the status may come from the sidecar, whose words are not the caller's business.
            return Problem(StatusCodes.Status404NotFound, GatewayProblems.NoSeatMap, "No seat map", $"Event {eventId} has no seat map to show.");
        }
        catch (RpcException ex)
        {
            return Unavailable(loggers, AppIds.VenueService, ex, cancellationToken);
        }
    }

    private static EventSummary ToEvent(IGrouping<string, TicketType> ticketTypes, EventDetails? details)
    {
        var seated = ticketTypes.Where(t => t.SeatPlanId.Length > 0).ToList();
        return new EventSummary(
            Guid.Parse(ticketTypes.Key), details?.Name, details?.Venue, details?.StartsAt?.ToDateTimeOffset(),
            seated.Count > 0 ? Guid.Parse(seated[0].SeatPlanId) : null,
            [.. seated.Select(t => t.Section).Where(s => s.Length > 0).Distinct()],
            [.. ticketTypes.Select(t => new TicketTypeSummary(
                Guid.Parse(t.TicketId), t.Name, t.UnitPrice.AmountMinor, t.UnitPrice.Currency, t.Availability.Available, t.MaxPerUser,
                t.SaleStartsAt?.ToDateTimeOffset(), t.SaleEndsAt?.ToDateTimeOffset(),
                t.SeatPlanId.Length > 0 ? Guid.Parse(t.SeatPlanId) : null, t.Section.Length > 0 ? t.Section : null))]);
    }

    private static string SeatStatusName(SeatStatus status) => status switch
    {
        SeatStatus.Available => "available",
        SeatStatus.Held => "held",
        SeatStatus.Sold => "sold",
        _ => "unknown",
    };

    private static ProblemHttpResult Unavailable(ILoggerFactory loggers, string appId, RpcException failure, CancellationToken request)
    {
        // A buyer who went away (the storefront aborts its reads on every view change) is not a failure.
        if (!request.IsCancellationRequested)
        {
            // Refused or unknown to the sidecar is a misconfiguration, not an outage that passes.
            var level = failure.StatusCode is StatusCode.PermissionDenied or StatusCode.Unauthenticated or StatusCode.Unimplemented
                ? LogLevel.Error : LogLevel.Warning;
            LogReadFailed(loggers.CreateLogger(typeof(CatalogApi)), level, appId, failure.StatusCode, failure.Status.Detail);
        }

        return Problem(
            StatusCodes.Status503ServiceUnavailable, GatewayProblems.ServiceUnavailable, $"{appId} is unavailable", "The catalog cannot be read right now; try again shortly.");
    }

    [LoggerMessage(Message = "Catalog read from {AppId} failed: {Status} {Detail}")]
    private static partial void LogReadFailed(ILogger logger, LogLevel level, string appId, StatusCode status, string detail);

    private static ProblemHttpResult Problem(int status, string type, string title, string detail) =>
        TypedResults.Problem(GatewayProblems.Create(status, type, title, detail));
}
