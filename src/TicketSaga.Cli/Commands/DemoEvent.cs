using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// The demo event `ticketsaga up` seeds: a seated venue (Floor and Balcony), one seated ticket type
/// per section and one general-admission type. Fixed ids make seeding idempotent: what exists is kept.
/// </summary>
internal static class DemoEvent
{
    public const string EventId = "01936b2a-0000-7000-8000-000000000001";
    public const string SeatPlanId = "01936b2a-0000-7000-8000-000000000002";
    public const string GeneralAdmissionTicketId = "01936b2a-0000-7000-8000-000000000010";
    public const string FloorTicketId = "01936b2a-0000-7000-8000-000000000011";

    private static readonly (string Section, string TicketId, long PriceMinor, (string Row, int Seats)[] Rows)[] Sections =
    [
        ("Floor", FloorTicketId, 8500, [("A", 10), ("B", 10), ("C", 12)]),
        ("Balcony", "01936b2a-0000-7000-8000-000000000012", 4500, [("A", 8), ("B", 8)]),
    ];

    /// <summary>Creates what is missing and says what was done.</summary>
    public static async Task<string> SeedAsync(CallInvoker ticketInvoker, CallInvoker venueInvoker, CancellationToken cancellationToken)
    {
        var venues = new Venues.VenuesClient(venueInvoker);
        var tickets = new Tickets.TicketsClient(ticketInvoker);
        var created = 0;

        if (!await ExistsAsync(() => venues.GetSeatMapAsync(new GetSeatMapRequest { PlanId = SeatPlanId }, cancellationToken: cancellationToken).ResponseAsync))
        {
            var plan = new CreateSeatPlanRequest { PlanId = SeatPlanId, EventId = EventId, Name = "Demo Hall" };
            plan.Sections.AddRange(Sections.Select(s =>
            {
                var layout = new SectionLayout { Name = s.Section };
                layout.Rows.AddRange(s.Rows.Select(r => new RowLayout { Label = r.Row, Seats = r.Seats }));
                return layout;
            }));
            created += await CreateAsync(() => venues.CreateSeatPlanAsync(plan, cancellationToken: cancellationToken).ResponseAsync);
        }

        // Described when it is not yet: an install seeded before events had details gets them now.
        var details = new EventDetails
        {
            EventId = EventId, Name = "Demo concert", Venue = "Demo Hall",
            StartsAt = Timestamp.FromDateTime(DateTime.UtcNow.Date.AddDays(30).AddHours(19)),
        };
        if ((await tickets.ListEventsAsync(new ListEventsRequest { EventId = EventId }, cancellationToken: cancellationToken)).Events.Count == 0)
        {
            created += await CreateAsync(() => tickets.DescribeEventAsync(new DescribeEventRequest { Event = details }, cancellationToken: cancellationToken).ResponseAsync);
        }

        var saleStarts = Timestamp.FromDateTime(DateTime.UtcNow.Date.AddDays(-1));
        var saleEnds = Timestamp.FromDateTime(DateTime.UtcNow.Date.AddDays(180));
        var ticketTypes = Sections
            .Select(s => new CreateTicketTypeRequest
            {
                TicketId = s.TicketId, Name = $"Demo concert - {s.Section}", Capacity = s.Rows.Sum(r => r.Seats),
                UnitPrice = new Money { AmountMinor = s.PriceMinor, Currency = "EUR" }, MaxPerUser = 4,
                SeatPlanId = SeatPlanId, Section = s.Section,
            })
            .Append(new CreateTicketTypeRequest
            {
                TicketId = GeneralAdmissionTicketId, Name = "Demo concert - General admission", Capacity = 200,
                UnitPrice = new Money { AmountMinor = 3000, Currency = "EUR" }, MaxPerUser = 6,
            });
        foreach (var ticketType in ticketTypes)
        {
            ticketType.EventId = EventId;
            ticketType.SaleStartsAt = saleStarts;
            ticketType.SaleEndsAt = saleEnds;
            if (!await ExistsAsync(() => tickets.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = ticketType.TicketId }, cancellationToken: cancellationToken).ResponseAsync))
            {
                created += await CreateAsync(() => tickets.CreateTicketTypeAsync(ticketType, cancellationToken: cancellationToken).ResponseAsync);
            }
        }

        return created == 0
            ? "already seeded (event, seat plan and 3 ticket types kept)"
            : $"seeded {created} item(s): event \"{details.Name}\" at {details.Venue}, seat plan {SeatPlanId} (Floor, Balcony), ticket types {string.Join(", ", ticketTypes.Select(t => t.TicketId))}";
    }

    private static async Task<bool> ExistsAsync(Func<Task> read)
    {
        try
        {
            await read();
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            return false;
        }
    }

    /// <summary>1 when created; 0 when another seeder created it meanwhile.</summary>
    private static async Task<int> CreateAsync(Func<Task> create)
    {
        try
        {
            await create();
            return 1;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.AlreadyExists)
        {
            return 0;
        }
    }
}
