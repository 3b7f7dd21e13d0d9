using Grpc.Core;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService.Tests;

public sealed class SeatReservationTests(VenueServiceFixture fixture) : IClassFixture<VenueServiceFixture>
{
    private VenueServiceHost Venue => fixture.Host;

    private Venues.VenuesClient Client => Venue.Client;

    [Fact]
    public async Task Named_seats_are_held_and_the_seat_map_shows_them_held()
    {
        var plan = await Venue.CreatePlanAsync(6);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var expiresAt = VenueServiceHost.InMinutes(15);

        var reservation = await Client.ReserveHeldSeatsAsync(Reserve(plan, seats["Floor A-4"], seats["Floor A-3"]));

        Assert.Equal(SeatReservationState.Held, reservation.State);
        Assert.Equal(["Floor A-3", "Floor A-4"], reservation.Seats.Select(s => s.Label));
        Assert.All(reservation.Seats, s => Assert.Equal(SeatStatus.Held, s.Status));
        var map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((4, 2, 0), (map.Available, map.Held, map.Sold));
        Assert.Equal(SeatStatus.Held, map.Seats.Single(s => s.Label == "Floor A-3").Status);
    }

    [Fact]
    public async Task Named_seats_outside_the_requested_section_fail_as_a_whole_and_hold_nothing()
    {
        var plan = await Client.CreateSeatPlanAsync(new CreateSeatPlanRequest
        {
            EventId = Guid.CreateVersion7().ToString(),
            Name = "Two sections",
            Sections =
            {
                new SectionLayout { Name = "Floor", Rows = { new RowLayout { Label = "A", Seats = 2 } } },
                new SectionLayout { Name = "Balcony", Rows = { new RowLayout { Label = "A", Seats = 2 } } },
            },
        });
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var snapshot = await Venue.SnapshotAsync();
        var request = Reserve(plan, seats["Floor A-1"], seats["Balcony A-1"]);
        request.Section = "Floor";

        var error = await RpcAssert.FailsWith(StatusCode.InvalidArgument, Client.ReserveHeldSeatsAsync(request));

        Assert.Equal("seats not in section 'Floor': Balcony A-1", error.Status.Detail);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
    }

    [Fact]
    public async Task Every_mutation_retried_returns_the_first_answer_and_changes_nothing()
    {
        var plan = await Venue.CreatePlanAsync(8);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var named = Reserve(plan, seats["Floor A-1"], seats["Floor A-2"]);
        var auto = Auto(plan, 3);

        var held = await Client.ReserveHeldSeatsAsync(named);
        var assigned = await Client.AutoAssignAndReserveAsync(auto);
        var snapshot = await Venue.SnapshotAsync();
        Assert.Equal(held, await Client.ReserveHeldSeatsAsync(named));
        Assert.Equal(assigned, await Client.AutoAssignAndReserveAsync(auto));
        Assert.Equal(snapshot, await Venue.SnapshotAsync());

        var finalize = new FinalizeSeatReservationRequest { ReservationId = named.ReservationId, OrderId = Guid.CreateVersion7().ToString() };
        var sold = await Client.FinalizeSeatReservationAsync(finalize);
        var release = new ReleaseSeatReservationRequest { ReservationId = auto.ReservationId, Reason = SeatReleaseReason.Cancelled };
        var released = await Client.ReleaseSeatReservationAsync(release);
        snapshot = await Venue.SnapshotAsync();
        Assert.Equal(sold, await Client.FinalizeSeatReservationAsync(finalize));
        Assert.Equal(released, await Client.ReleaseSeatReservationAsync(release));
        Assert.Equal(snapshot, await Venue.SnapshotAsync());

        Assert.Equal(SeatReservationState.Sold, sold.State);
        Assert.Equal(SeatReservationState.Released, released.State);
        Assert.Equal(assigned.Seats.Select(s => s.SeatId), released.Seats.Select(s => s.SeatId));
        var map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((6, 0, 2), (map.Available, map.Held, map.Sold));
    }

    [Fact]
    public async Task A_late_retry_of_a_reservation_returns_it_as_it_now_stands_and_holds_nothing_again()
    {
        var plan = await Venue.CreatePlanAsync(4);
        var request = Auto(plan, 2);
        var held = await Client.AutoAssignAndReserveAsync(request);
        await Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = request.ReservationId, Reason = SeatReleaseReason.Failed });

        var retried = await Client.AutoAssignAndReserveAsync(request);

        Assert.Equal(SeatReservationState.Released, retried.State);
        Assert.Equal(held.Seats.Select(s => s.SeatId), retried.Seats.Select(s => s.SeatId));
        Assert.Equal(4, (await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId })).Available);
    }

    [Fact]
    public async Task The_same_reservation_id_with_other_arguments_is_AlreadyExists_and_changes_nothing()
    {
        var plan = await Venue.CreatePlanAsync(8);
        var otherPlan = await Venue.CreatePlanAsync(8);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var named = Reserve(plan, seats["Floor A-1"], seats["Floor A-2"]);
        var auto = Auto(plan, 2);
        await Client.ReserveHeldSeatsAsync(named);
        await Client.AutoAssignAndReserveAsync(auto);
        var snapshot = await Venue.SnapshotAsync();

        var otherSeats = named.Clone();
        otherSeats.SeatIds[1] = seats["Floor A-3"];
        var fewerSeats = named.Clone();
        fewerSeats.SeatIds.RemoveAt(1);
        var laterExpiry = named.Clone();
        laterExpiry.ExpiresAt = VenueServiceHost.InMinutes(30);
        var otherPlanNamed = named.Clone();
        otherPlanNamed.PlanId = otherPlan.PlanId;
        var moreSeats = auto.Clone();
        moreSeats.Qty = 3;
        var otherSection = auto.Clone();
        otherSection.Section = "Balcony";
        var namedUnderAutoId = named.Clone();
        namedUnderAutoId.ReservationId = auto.ReservationId;

        await Refused(Client.ReserveHeldSeatsAsync(otherSeats), named.ReservationId, "seat_ids");
        await Refused(Client.ReserveHeldSeatsAsync(fewerSeats), named.ReservationId, "seat_ids");
        await Refused(Client.ReserveHeldSeatsAsync(laterExpiry), named.ReservationId, "expires_at");
        await Refused(Client.ReserveHeldSeatsAsync(otherPlanNamed), named.ReservationId, "plan_id");
        await Refused(Client.AutoAssignAndReserveAsync(moreSeats), auto.ReservationId, "qty");
        await Refused(Client.AutoAssignAndReserveAsync(otherSection), auto.ReservationId, "section");
        await Refused(Client.ReserveHeldSeatsAsync(namedUnderAutoId), auto.ReservationId, "kind of request");
        Assert.Equal(snapshot, await Venue.SnapshotAsync());

        var order = Guid.CreateVersion7().ToString();
        await Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = named.ReservationId, OrderId = order });
        await Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = auto.ReservationId, Reason = SeatReleaseReason.Expired });
        snapshot = await Venue.SnapshotAsync();

        var otherOrder = await RpcAssert.FailsWith(StatusCode.AlreadyExists, Client.FinalizeSeatReservationAsync(
            new FinalizeSeatReservationRequest { ReservationId = named.ReservationId, OrderId = Guid.CreateVersion7().ToString() }));
        Assert.Equal($"seat reservation {named.ReservationId} was already finalized for order {order}", otherOrder.Status.Detail);
        var otherReason = await RpcAssert.FailsWith(StatusCode.AlreadyExists, Client.ReleaseSeatReservationAsync(
            new ReleaseSeatReservationRequest { ReservationId = auto.ReservationId, Reason = SeatReleaseReason.Cancelled }));
        Assert.Equal($"seat reservation {auto.ReservationId} was already released (EXPIRED)", otherReason.Status.Detail);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
    }

    [Fact]
    public async Task Finalize_after_release_and_release_after_finalize_are_FailedPrecondition()
    {
        var plan = await Venue.CreatePlanAsync(6);
        var released = await Client.AutoAssignAndReserveAsync(Auto(plan, 2));
        var sold = await Client.AutoAssignAndReserveAsync(Auto(plan, 2));
        var order = Guid.CreateVersion7().ToString();
        await Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = released.ReservationId, Reason = SeatReleaseReason.Expired });
        await Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = sold.ReservationId, OrderId = order });
        var snapshot = await Venue.SnapshotAsync();

        var finalize = await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Client.FinalizeSeatReservationAsync(
            new FinalizeSeatReservationRequest { ReservationId = released.ReservationId, OrderId = Guid.CreateVersion7().ToString() }));
        Assert.Equal($"seat reservation {released.ReservationId} was released (EXPIRED) and can no longer be finalized", finalize.Status.Detail);
        var release = await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Client.ReleaseSeatReservationAsync(
            new ReleaseSeatReservationRequest { ReservationId = sold.ReservationId, Reason = SeatReleaseReason.Cancelled }));
        Assert.Equal($"seat reservation {sold.ReservationId} was finalized for order {order}; sold seats are not released", release.Status.Detail);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
    }

    [Fact]
    public async Task A_request_naming_held_or_sold_seats_fails_as_a_whole_naming_each_seat_and_holds_nothing()
    {
        var plan = await Venue.CreatePlanAsync(6);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var sold = await Client.ReserveHeldSeatsAsync(Reserve(plan, seats["Floor A-3"]));
        await Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = sold.ReservationId, OrderId = Guid.CreateVersion7().ToString() });
        await Client.ReserveHeldSeatsAsync(Reserve(plan, seats["Floor A-4"]));
        var snapshot = await Venue.SnapshotAsync();

        var request = Reserve(plan, seats["Floor A-5"], seats["Floor A-4"], seats["Floor A-2"], seats["Floor A-3"]);
        var failure = await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Client.ReserveHeldSeatsAsync(request));

        Assert.Equal("seats not available: Floor A-3 (sold), Floor A-4 (held)", failure.Status.Detail);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
        var map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((4, 1, 1), (map.Available, map.Held, map.Sold));

        // The failed attempt left no trace: its reservation_id is free for the seats that are available.
        request.SeatIds.Clear();
        request.SeatIds.Add([seats["Floor A-2"], seats["Floor A-5"]]);
        Assert.Equal(SeatReservationState.Held, (await Client.ReserveHeldSeatsAsync(request)).State);
    }

    [Fact]
    public async Task Unknown_seats_and_seats_of_another_plan_are_NotFound_listing_them_and_hold_nothing()
    {
        var plan = await Venue.CreatePlanAsync(4);
        var otherPlan = await Venue.CreatePlanAsync(4);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var foreign = (await Venue.SeatIdsByLabelAsync(otherPlan))["Floor A-1"];
        var unknown = Guid.CreateVersion7().ToString();
        var snapshot = await Venue.SnapshotAsync();

        var failure = await RpcAssert.FailsWith(
            StatusCode.NotFound, Client.ReserveHeldSeatsAsync(Reserve(plan, seats["Floor A-1"], foreign, unknown)));

        Assert.Equal($"seats not found in seat plan {plan.PlanId}: {foreign}, {unknown}", failure.Status.Detail);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
    }

    [Fact]
    public async Task Auto_assignment_takes_contiguous_centre_seats_in_the_best_row_with_room()
    {
        var plan = await Venue.CreatePlanAsync(8, 8, 8);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        await Client.ReserveHeldSeatsAsync(Reserve(plan, seats["Floor A-4"], seats["Floor A-6"]));

        var first = await Client.AutoAssignAndReserveAsync(Auto(plan, 4));
        var second = await Client.AutoAssignAndReserveAsync(Auto(plan, 3));

        Assert.Equal(["Floor B-3", "Floor B-4", "Floor B-5", "Floor B-6"], first.Seats.Select(s => s.Label));
        Assert.Equal(["Floor A-1", "Floor A-2", "Floor A-3"], second.Seats.Select(s => s.Label));
        Assert.All(first.Seats.Concat(second.Seats), s => Assert.Equal(SeatStatus.Held, s.Status));
    }

    [Fact]
    public async Task Auto_assignment_beyond_the_seats_left_is_ResourceExhausted_saying_how_many_are_left()
    {
        var plan = await Venue.CreatePlanAsync(3, 2);
        await Client.AutoAssignAndReserveAsync(Auto(plan, 2));
        var snapshot = await Venue.SnapshotAsync();

        var failure = await RpcAssert.FailsWith(StatusCode.ResourceExhausted, Client.AutoAssignAndReserveAsync(Auto(plan, 4)));

        Assert.Equal("only 3 seats left in section 'Floor', 4 requested", failure.Status.Detail);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
        Assert.Equal(3, (await Client.AutoAssignAndReserveAsync(Auto(plan, 3))).Seats.Count);
        var soldOut = await RpcAssert.FailsWith(StatusCode.ResourceExhausted, Client.AutoAssignAndReserveAsync(Auto(plan, 1)));
        Assert.Equal("only 0 seats left in section 'Floor', 1 requested", soldOut.Status.Detail);
    }

    [Fact]
    public async Task Concurrent_duplicates_of_one_reservation_id_hold_the_seats_once_and_all_get_the_same_answer()
    {
        var plan = await Venue.CreatePlanAsync(10, 10);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var named = Reserve(plan, seats["Floor B-1"], seats["Floor B-2"]);
        var auto = Auto(plan, 3);

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).SelectMany(_ => new[]
        {
            Task.Run(() => Client.ReserveHeldSeatsAsync(named).ResponseAsync),
            Task.Run(() => Client.AutoAssignAndReserveAsync(auto).ResponseAsync),
        }));

        Assert.Single(answers.Where(a => a.ReservationId == named.ReservationId).Distinct());
        Assert.Single(answers.Where(a => a.ReservationId == auto.ReservationId).Distinct());
        var map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((15, 5), (map.Available, map.Held));

        var finalize = new FinalizeSeatReservationRequest { ReservationId = named.ReservationId, OrderId = Guid.CreateVersion7().ToString() };
        var release = new ReleaseSeatReservationRequest { ReservationId = auto.ReservationId, Reason = SeatReleaseReason.Expired };
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 12).SelectMany(_ => new[]
        {
            Task.Run(() => Client.FinalizeSeatReservationAsync(finalize).ResponseAsync),
            Task.Run(() => Client.ReleaseSeatReservationAsync(release).ResponseAsync),
        }));

        Assert.Single(outcomes.Where(a => a.ReservationId == named.ReservationId).Distinct());
        Assert.Single(outcomes.Where(a => a.ReservationId == auto.ReservationId).Distinct());
        map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((18, 0, 2), (map.Available, map.Held, map.Sold));
    }

    [Fact]
    public async Task Racing_finalize_and_release_of_one_hold_have_exactly_one_winner()
    {
        var plan = await Venue.CreatePlanAsync(40);
        var holds = new List<SeatReservation>();
        for (var i = 0; i < 20; i++)
        {
            holds.Add(await Client.AutoAssignAndReserveAsync(Auto(plan, 2)));
        }

        var results = await Task.WhenAll(holds.Select(async hold =>
        {
            var finalize = Task.Run(() => Outcome(Client.FinalizeSeatReservationAsync(
                new FinalizeSeatReservationRequest { ReservationId = hold.ReservationId, OrderId = Guid.CreateVersion7().ToString() })));
            var release = Task.Run(() => Outcome(Client.ReleaseSeatReservationAsync(
                new ReleaseSeatReservationRequest { ReservationId = hold.ReservationId, Reason = SeatReleaseReason.Expired })));
            return (Finalized: await finalize, Released: await release);
        }));

        Assert.All(results, r => Assert.True(
            (r.Finalized, r.Released) is (StatusCode.OK, StatusCode.FailedPrecondition) or (StatusCode.FailedPrecondition, StatusCode.OK),
            $"finalize {r.Finalized}, release {r.Released}"));
        var map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        var sold = results.Count(r => r.Finalized == StatusCode.OK);
        Assert.Equal((40 - (2 * sold), 0, 2 * sold), (map.Available, map.Held, map.Sold));
    }

    private static async Task<StatusCode> Outcome<T>(AsyncUnaryCall<T> call)
    {
        try
        {
            await call.ResponseAsync;
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }

    private static async Task Refused<T>(AsyncUnaryCall<T> call, string reservationId, string difference)
    {
        var failure = await RpcAssert.FailsWith(StatusCode.AlreadyExists, call);
        Assert.StartsWith($"seat reservation {reservationId} already exists with a different ", failure.Status.Detail, StringComparison.Ordinal);
        Assert.Contains(difference, failure.Status.Detail, StringComparison.Ordinal);
    }

    private static ReserveHeldSeatsRequest Reserve(SeatPlan plan, params string[] seatIds) => new()
    {
        PlanId = plan.PlanId,
        ReservationId = Guid.CreateVersion7().ToString(),
        SeatIds = { seatIds },
        ExpiresAt = VenueServiceHost.InMinutes(15),
    };

    private static AutoAssignAndReserveRequest Auto(SeatPlan plan, int qty) => new()
    {
        PlanId = plan.PlanId,
        ReservationId = Guid.CreateVersion7().ToString(),
        Section = "Floor",
        Qty = qty,
        ExpiresAt = VenueServiceHost.InMinutes(15),
    };
}
