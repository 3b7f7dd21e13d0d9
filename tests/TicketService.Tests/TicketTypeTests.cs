using Google.Protobuf.WellKnownTypes;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.TicketService.Tests;

public sealed class TicketTypeTests(PostgresServer postgres) : IAsyncLifetime
{
    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    [Fact]
    public async Task Created_ticket_types_are_listed_per_event_with_their_availability()
    {
        var eventId = Guid.CreateVersion7().ToString();
        CreateTicketTypeRequest Request(string name, int capacity) => new()
        {
            EventId = eventId,
            Name = name,
            Capacity = capacity,
            UnitPrice = new Money { AmountMinor = 2_500, Currency = "chf" },
            MaxPerUser = 2,
            SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
            SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
        };
        var floor = await _service.Client.CreateTicketTypeAsync(Request("Floor", 3), cancellationToken: TestContext.Current.CancellationToken);
        await _service.Client.CreateTicketTypeAsync(Request("Balcony", 50), cancellationToken: TestContext.Current.CancellationToken);
        await _service.CreateTicketTypeAsync(capacity: 7);
        await _service.ReserveAsync(TicketServiceHost.Hold(floor, qty: 2));

        var listed = await _service.Client.ListTicketTypesAsync(new ListTicketTypesRequest { EventId = eventId }, cancellationToken: TestContext.Current.CancellationToken);
        var all = await _service.Client.ListTicketTypesAsync(new ListTicketTypesRequest(), cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(7, Guid.Parse(floor.TicketId).Version);
        Assert.Equal("CHF", floor.UnitPrice.Currency);
        Assert.Equal(["Floor", "Balcony"], listed.TicketTypes.Select(t => t.Name));
        Assert.Equal(new Availability { Capacity = 3, Available = 1, Held = 2 }, listed.TicketTypes[0].Availability);
        Assert.Equal(3, all.TicketTypes.Count);
    }

    [Fact]
    public async Task Creating_a_ticket_type_again_with_its_id_returns_it_unchanged()
    {
        var request = new CreateTicketTypeRequest
        {
            TicketId = Guid.CreateVersion7().ToString(),
            EventId = Guid.CreateVersion7().ToString(),
            Name = "Seated",
            Capacity = 10,
            UnitPrice = new Money { AmountMinor = 9_900, Currency = "EUR" },
            MaxPerUser = 4,
            SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(-1)),
            SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(1)),
            SeatPlanId = Guid.CreateVersion7().ToString(),
            Section = "Parterre",
        };
        var first = await _service.Client.CreateTicketTypeAsync(request, cancellationToken: TestContext.Current.CancellationToken);
        var before = await _service.SnapshotAsync();

        var again = await _service.Client.CreateTicketTypeAsync(request, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(first, again);
        Assert.Equal(before, await _service.SnapshotAsync());
    }

    [Fact]
    public async Task An_event_is_described_once_and_listed_with_its_name_venue_and_start()
    {
        var details = new EventDetails
        {
            EventId = Guid.CreateVersion7().ToString(), Name = "Spring concert", Venue = "Hall",
            StartsAt = Timestamp.FromDateTimeOffset(new DateTimeOffset(2027, 3, 21, 19, 30, 0, TimeSpan.Zero)),
        };
        var cancellationToken = TestContext.Current.CancellationToken;

        var described = await _service.Client.DescribeEventAsync(new DescribeEventRequest { Event = details }, cancellationToken: cancellationToken);
        var again = await _service.Client.DescribeEventAsync(new DescribeEventRequest { Event = details }, cancellationToken: cancellationToken);
        var otherwise = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => _service.Client.DescribeEventAsync(
            new DescribeEventRequest { Event = new EventDetails(details) { Venue = "Another hall" } }, cancellationToken: cancellationToken).ResponseAsync);
        var missingName = await Assert.ThrowsAsync<Grpc.Core.RpcException>(() => _service.Client.DescribeEventAsync(
            new DescribeEventRequest { Event = new EventDetails(details) { EventId = Guid.CreateVersion7().ToString(), Name = "" } }, cancellationToken: cancellationToken).ResponseAsync);
        var listed = await _service.Client.ListEventsAsync(new ListEventsRequest { EventId = details.EventId }, cancellationToken: cancellationToken);

        Assert.Equal(details, described);
        Assert.Equal(details, again);
        Assert.Equal(Grpc.Core.StatusCode.AlreadyExists, otherwise.StatusCode);
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, missingName.StatusCode);
        Assert.Equal([details], listed.Events);
    }
}
