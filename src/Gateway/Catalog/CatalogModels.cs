using System.ComponentModel.DataAnnotations;

namespace TicketSaga.Gateway.Catalog;

// Public catalog JSON (snake_case). Money in minor units plus ISO 4217 currency.

/// <summary>GET /events: every event with its ticket types.</summary>
public sealed record EventList(IReadOnlyList<EventSummary> Events);

/// <param name="EventId">The event's id.</param>
/// <param name="Name">The event's name; null for an event whose details were never set.</param>
/// <param name="Venue">Where it takes place; null like <paramref name="Name"/>.</param>
/// <param name="StartsAt">When it begins; null like <paramref name="Name"/>.</param>
/// <param name="SeatPlanId">The seat plan of a seated event; null for general admission only.</param>
/// <param name="Sections">The sections sold through ticket types (seated events).</param>
public sealed record EventSummary(
    Guid EventId, string? Name, string? Venue, DateTimeOffset? StartsAt, Guid? SeatPlanId, IReadOnlyList<string> Sections, IReadOnlyList<TicketTypeSummary> TicketTypes);

/// <param name="UnitPrice">Price of one ticket in minor units of <paramref name="Currency"/>.</param>
/// <param name="Available">Tickets that can be bought right now.</param>
/// <param name="Section">The seat plan section a ticket of this type sits in; null for general admission.</param>
public sealed record TicketTypeSummary(
    Guid TicketId,
    string Name,
    long UnitPrice,
    string Currency,
    int Available,
    int MaxPerUser,
    DateTimeOffset? SaleStartsAt,
    DateTimeOffset? SaleEndsAt,
    Guid? SeatPlanId,
    string? Section);

/// <summary>GET /events/{id}/seats: the live seat map of a seated event.</summary>
public sealed record EventSeatMap(Guid EventId, Guid SeatPlanId, int Available, int Held, int Sold, IReadOnlyList<SeatView> Seats);

public sealed record SeatView(Guid SeatId, string Label, string Section, string Row, int Number, [property: AllowedValues("available", "held", "sold")] string Status);
