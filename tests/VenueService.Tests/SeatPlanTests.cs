using Grpc.Core;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService.Tests;

public sealed class SeatPlanTests(VenueServiceFixture fixture) : IClassFixture<VenueServiceFixture>
{
    private VenueServiceHost Venue => fixture.Host;

    [Fact]
    public async Task A_new_plan_lists_every_seat_available_in_layout_order_with_readable_labels()
    {
        var plan = await Venue.Client.CreateSeatPlanAsync(new CreateSeatPlanRequest
        {
            EventId = "concert-1",
            Name = "Main hall",
            Sections =
            {
                new SectionLayout { Name = "Floor A", Rows = { new RowLayout { Label = "1", Seats = 12 }, new RowLayout { Label = "2", Seats = 10 } } },
                new SectionLayout { Name = "Balcony", Rows = { new RowLayout { Label = "K", Seats = 3 } } },
            },
        });

        Assert.Equal(25, plan.Capacity);
        Assert.Equal(["Floor A", "Balcony"], plan.Sections);
        var map = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((25, 0, 0), (map.Available, map.Held, map.Sold));
        Assert.Equal("Floor A 1-12", map.Seats[11].Label);
        Assert.Equal(("Floor A", "2", 1), (map.Seats[12].Section, map.Seats[12].Row, map.Seats[12].Number));
        Assert.Equal(["Balcony K-1", "Balcony K-2", "Balcony K-3"], map.Seats.TakeLast(3).Select(s => s.Label));
        Assert.All(map.Seats, s => Assert.Equal(SeatStatus.Available, s.Status));
        Assert.Equal(25, map.Seats.Select(s => Guid.Parse(s.SeatId)).Distinct().Count());

        var balcony = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId, Section = "Balcony" });
        Assert.Equal(3, balcony.Available);
        Assert.All(balcony.Seats, s => Assert.Equal("Balcony", s.Section));
    }

    [Fact]
    public async Task Creating_the_same_plan_again_returns_it_and_another_layout_under_its_id_is_AlreadyExists()
    {
        var request = new CreateSeatPlanRequest
        {
            PlanId = Guid.CreateVersion7().ToString(),
            EventId = "concert-2",
            Name = "Club",
            Sections = { new SectionLayout { Name = "Floor", Rows = { new RowLayout { Label = "A", Seats = 4 } } } },
        };
        var created = await Venue.Client.CreateSeatPlanAsync(request);
        var snapshot = await Venue.SnapshotAsync();

        Assert.Equal(created, await Venue.Client.CreateSeatPlanAsync(request));
        var other = request.Clone();
        other.Sections[0].Rows[0].Seats = 5;
        var failure = await RpcAssert.FailsWith(StatusCode.AlreadyExists, Venue.Client.CreateSeatPlanAsync(other));
        Assert.Contains(request.PlanId, failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
    }

    public static TheoryData<string, string> BadLayouts => new()
    {
        { "no sections", "at least one section" },
        { "section without rows", "section 'Floor' has no rows" },
        { "row without seats", "row 'A' in section 'Floor' has 0 seats; a row has 1 to 1000" },
        { "row of 1001 seats", "row 'A' in section 'Floor' has 1001 seats; a row has 1 to 1000" },
        { "negative seats", "has -3 seats" },
        { "section twice", "section 'Floor' appears more than once" },
        { "row twice in a section", "row 'A' appears more than once in section 'Floor'" },
        { "blank section name", "section name is required" },
        { "blank row label", "row label in section 'Floor' is required" },
        { "missing event", "event_id is required" },
        { "missing name", "name is required" },
        { "malformed plan id", "plan_id 'plan-1' is not a UUID" },
        { "too many seats", "a seat plan holds at most 100000 seats, this one has 101000" },
    };

    [Theory]
    [MemberData(nameof(BadLayouts))]
    public async Task Operator_input_is_validated_and_a_bad_plan_creates_nothing(string mistake, string message)
    {
        var request = new CreateSeatPlanRequest
        {
            EventId = "concert-3",
            Name = "Arena",
            Sections = { new SectionLayout { Name = "Floor", Rows = { new RowLayout { Label = "A", Seats = 10 } } } },
        };
        var floor = request.Sections[0];
        switch (mistake)
        {
            case "no sections": request.Sections.Clear(); break;
            case "section without rows": floor.Rows.Clear(); break;
            case "row without seats": floor.Rows[0].Seats = 0; break;
            case "row of 1001 seats": floor.Rows[0].Seats = 1001; break;
            case "negative seats": floor.Rows[0].Seats = -3; break;
            case "section twice": request.Sections.Add(floor.Clone()); break;
            case "row twice in a section": floor.Rows.Add(new RowLayout { Label = "A", Seats = 2 }); break;
            case "blank section name": floor.Name = " "; break;
            case "blank row label": floor.Rows[0].Label = ""; break;
            case "missing event": request.EventId = ""; break;
            case "missing name": request.Name = ""; break;
            case "malformed plan id": request.PlanId = "plan-1"; break;
            case "too many seats":
                floor.Rows.Clear();
                floor.Rows.Add(Enumerable.Range(0, 101).Select(i => new RowLayout { Label = $"R{i}", Seats = 1000 }));
                break;
        }

        var snapshot = await Venue.SnapshotAsync();

        var failure = await RpcAssert.FailsWith(StatusCode.InvalidArgument, Venue.Client.CreateSeatPlanAsync(request));
        Assert.Contains(message, failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
    }

    [Fact]
    public async Task Seat_map_of_an_unknown_plan_or_section_is_NotFound()
    {
        var plan = await Venue.CreatePlanAsync(3);
        var unknownPlan = Guid.CreateVersion7().ToString();

        var noPlan = await RpcAssert.FailsWith(StatusCode.NotFound, Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = unknownPlan }));
        Assert.Equal($"seat plan {unknownPlan} not found", noPlan.Status.Detail);
        var noSection = await RpcAssert.FailsWith(
            StatusCode.NotFound, Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId, Section = "Stage" }));
        Assert.Equal($"section 'Stage' not found in seat plan {plan.PlanId}", noSection.Status.Detail);
        await RpcAssert.FailsWith(StatusCode.InvalidArgument, Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = "nope" }));
    }
}
