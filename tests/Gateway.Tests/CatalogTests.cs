using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Hosting;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class CatalogTests(GatewaySystem system)
{
    [Fact]
    public async Task Events_list_ticket_types_with_prices_availability_and_the_seat_plan_in_snake_case()
    {
        var seeded = await SeedSeatedEventAsync();
        using var client = system.Client();

        var events = (await (await client.GetAsync("/events")).JsonAsync()).GetProperty("events");

        var ours = events.EnumerateArray().Single(e => e.GetProperty("event_id").GetString() == seeded.EventId);
        Assert.Equal(
            ["event_id", "name", "seat_plan_id", "sections", "starts_at", "ticket_types", "venue"],
            ours.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal(("Spring concert", "Hall"), (ours.GetProperty("name").GetString(), ours.GetProperty("venue").GetString()));
        Assert.Equal(seeded.StartsAt, ours.GetProperty("starts_at").GetDateTimeOffset());
        Assert.Equal(seeded.PlanId, ours.GetProperty("seat_plan_id").GetString());
        Assert.Equal(["Floor", "Balcony"], ours.GetProperty("sections").EnumerateArray().Select(s => s.GetString()));
        var floor = ours.GetProperty("ticket_types").EnumerateArray().Single(t => t.GetProperty("ticket_id").GetString() == seeded.FloorTicketId);
        Assert.Equal(
            ["available", "currency", "max_per_user", "name", "sale_ends_at", "sale_starts_at", "seat_plan_id", "section", "ticket_id", "unit_price"],
            floor.EnumerateObject().Select(p => p.Name).Order());
        Assert.Equal("Floor", floor.GetProperty("name").GetString());
        Assert.Equal(8500, floor.GetProperty("unit_price").GetInt64());
        Assert.Equal("EUR", floor.GetProperty("currency").GetString());
        Assert.Equal(6, floor.GetProperty("available").GetInt32());
        Assert.Equal(4, floor.GetProperty("max_per_user").GetInt32());
        Assert.Equal("Floor", floor.GetProperty("section").GetString());
        Assert.True(floor.GetProperty("sale_starts_at").GetDateTimeOffset() < floor.GetProperty("sale_ends_at").GetDateTimeOffset());
        var general = ours.GetProperty("ticket_types").EnumerateArray().Single(t => t.GetProperty("ticket_id").GetString() == seeded.GeneralTicketId);
        Assert.Equal(JsonValueKind.Null, general.GetProperty("section").ValueKind);
        Assert.Equal(JsonValueKind.Null, general.GetProperty("seat_plan_id").ValueKind);
    }

    [Fact]
    public async Task Available_now_follows_holds()
    {
        var seeded = await SeedSeatedEventAsync();
        await system.Tickets.ReserveQuotaAsync(new ReserveQuotaRequest
        {
            TicketId = seeded.GeneralTicketId, ReservationId = Guid.NewGuid().ToString(), UserId = "buyer", Qty = 3,
            ExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(10)),
        });
        using var client = system.Client();

        var events = (await (await client.GetAsync("/events")).JsonAsync()).GetProperty("events");

        var general = events.EnumerateArray().Single(e => e.GetProperty("event_id").GetString() == seeded.EventId)
            .GetProperty("ticket_types").EnumerateArray().Single(t => t.GetProperty("ticket_id").GetString() == seeded.GeneralTicketId);
        Assert.Equal(100 - 3, general.GetProperty("available").GetInt32());
    }

    [Fact]
    public async Task The_seat_map_is_live_and_snake_case()
    {
        var seeded = await SeedSeatedEventAsync();
        var map = await system.Venues.GetSeatMapAsync(new GetSeatMapRequest { PlanId = seeded.PlanId });
        var held = map.Seats.First(s => s.Section == "Floor");
        await system.Venues.ReserveHeldSeatsAsync(new ReserveHeldSeatsRequest
        {
            PlanId = seeded.PlanId, ReservationId = Guid.NewGuid().ToString(), SeatIds = { held.SeatId },
            ExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(10)),
        });
        using var client = system.Client();

        var seats = await (await client.GetAsync($"/events/{seeded.EventId}/seats")).JsonAsync();

        Assert.Equal(seeded.EventId, seats.GetProperty("event_id").GetString());
        Assert.Equal(seeded.PlanId, seats.GetProperty("seat_plan_id").GetString());
        Assert.Equal((9, 1, 0), (seats.GetProperty("available").GetInt32(), seats.GetProperty("held").GetInt32(), seats.GetProperty("sold").GetInt32()));
        var all = seats.GetProperty("seats").EnumerateArray().ToList();
        Assert.Equal(10, all.Count);
        Assert.Equal(["label", "number", "row", "seat_id", "section", "status"], all[0].EnumerateObject().Select(p => p.Name).Order());
        var seat = all.Single(s => s.GetProperty("seat_id").GetString() == held.SeatId);
        Assert.Equal("held", seat.GetProperty("status").GetString());
        Assert.Equal((held.Label, held.Section, held.Row, held.Number),
            (seat.GetProperty("label").GetString(), seat.GetProperty("section").GetString(), seat.GetProperty("row").GetString(), seat.GetProperty("number").GetInt32()));
        Assert.All(all.Where(s => s.GetProperty("seat_id").GetString() != held.SeatId), s => Assert.Equal("available", s.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task The_seat_map_can_be_narrowed_to_a_section()
    {
        var seeded = await SeedSeatedEventAsync();
        using var client = system.Client();

        var seats = await (await client.GetAsync($"/events/{seeded.EventId}/seats?section=Balcony")).JsonAsync();

        Assert.All(seats.GetProperty("seats").EnumerateArray(), s => Assert.Equal("Balcony", s.GetProperty("section").GetString()));
        Assert.Equal(4, seats.GetProperty("seats").GetArrayLength());
    }

    [Fact]
    public async Task An_unknown_event_is_404()
    {
        using var client = system.Client();

        using var response = await client.GetAsync($"/events/{Guid.NewGuid()}/seats");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "unknown-event");
    }

    [Fact]
    public async Task A_malformed_event_id_is_400()
    {
        using var client = system.Client();

        using var response = await client.GetAsync("/events/not-an-id/seats");

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-event-id");
    }

    [Fact]
    public async Task A_general_admission_event_has_no_seat_map()
    {
        var eventId = Guid.NewGuid().ToString();
        await system.Tickets.CreateTicketTypeAsync(TicketType(eventId, "Standing", 50, planId: null, section: null));
        using var client = system.Client();

        using var response = await client.GetAsync($"/events/{eventId}/seats");

        await response.AssertProblemAsync(HttpStatusCode.NotFound, "no-seat-map");
    }

    [Fact]
    public async Task A_catalog_read_the_sidecar_refuses_is_503_without_the_sidecars_words()
    {
        await using var sidecar = await RefusingSidecar.StartAsync();
        await using var gateway = await system.StartGatewayAsync("gateway-refused-by-policy", new Dictionary<string, string?>
        {
            ["DAPR_GRPC_ENDPOINT"] = sidecar.Address,
        });
        using var client = system.Client(gateway: gateway.Address);

        using var events = await client.GetAsync("/events");
        using var seats = await client.GetAsync($"/events/{Guid.NewGuid()}/seats");

        foreach (var response in new[] { events, seats })
        {
            var problem = await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
            Assert.Equal("ticket-service is unavailable", problem.GetProperty("title").GetString());
            Assert.DoesNotContain("spiffe", problem.GetRawText(), StringComparison.OrdinalIgnoreCase);
        }

        // Refused by the sidecar, not lost on the way: /events reads twice, the seat map once.
        Assert.Equal(3, sidecar.Refused);
    }

    private async Task<SeededEvent> SeedSeatedEventAsync()
    {
        var eventId = Guid.NewGuid().ToString();
        var plan = await system.Venues.CreateSeatPlanAsync(new CreateSeatPlanRequest
        {
            EventId = eventId,
            Name = "Hall",
            Sections =
            {
                new SectionLayout { Name = "Floor", Rows = { new RowLayout { Label = "A", Seats = 3 }, new RowLayout { Label = "B", Seats = 3 } } },
                new SectionLayout { Name = "Balcony", Rows = { new RowLayout { Label = "A", Seats = 4 } } },
            },
        });
        var floor = await system.Tickets.CreateTicketTypeAsync(TicketType(eventId, "Floor", 6, plan.PlanId, "Floor"));
        await system.Tickets.CreateTicketTypeAsync(TicketType(eventId, "Balcony", 4, plan.PlanId, "Balcony"));
        var general = await system.Tickets.CreateTicketTypeAsync(TicketType(eventId, "General admission", 100, planId: null, section: null));
        var startsAt = new DateTimeOffset(DateTime.UtcNow.Date.AddDays(40).AddHours(20), TimeSpan.Zero);
        await system.Tickets.DescribeEventAsync(new DescribeEventRequest
        {
            Event = new EventDetails { EventId = eventId, Name = "Spring concert", Venue = "Hall", StartsAt = Timestamp.FromDateTimeOffset(startsAt) },
        });
        return new SeededEvent(eventId, plan.PlanId, floor.TicketId, general.TicketId, startsAt);
    }

    private static CreateTicketTypeRequest TicketType(string eventId, string name, int capacity, string? planId, string? section) => new()
    {
        EventId = eventId,
        Name = name,
        Capacity = capacity,
        UnitPrice = new Money { AmountMinor = name == "Floor" ? 8500 : 3000, Currency = "EUR" },
        MaxPerUser = 4,
        SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
        SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)),
        SeatPlanId = planId ?? "",
        Section = section ?? "",
    };

    /// <summary>
    /// A sidecar whose access policy refuses every gRPC invocation, answering as daprd does: PermissionDenied,
    /// its message naming the caller's SPIFFE id.
    /// </summary>
    private sealed class RefusingSidecar : IAsyncDisposable
    {
        private readonly WebApplication _web;
        private int _refused;

        private RefusingSidecar(WebApplication web, string address)
        {
            _web = web;
            Address = address;
        }

        public string Address { get; }

        public int Refused => Volatile.Read(ref _refused);

        public static async Task<RefusingSidecar> StartAsync()
        {
            var port = PortAllocator.FreePort();
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2));
            var web = builder.Build();
            var sidecar = new RefusingSidecar(web, $"http://127.0.0.1:{port}");
            web.MapPost("/{**method}", context =>
            {
                Interlocked.Increment(ref sidecar._refused);
                context.Response.ContentType = "application/grpc";
                context.Response.Headers["grpc-status"] = "7";
                context.Response.Headers["grpc-message"] = "access control policy has denied access to id: spiffe://public/ns/default/gateway-refused-by-policy";
                return Task.CompletedTask;
            });
            await web.StartAsync();
            return sidecar;
        }

        public async ValueTask DisposeAsync() => await _web.DisposeAsync();
    }

    private sealed record SeededEvent(string EventId, string PlanId, string FloorTicketId, string GeneralTicketId, DateTimeOffset StartsAt);
}
