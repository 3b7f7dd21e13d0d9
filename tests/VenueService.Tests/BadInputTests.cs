using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService.Tests;

/// <summary>Bad input gets a precise status and a message a client can show, and changes nothing.</summary>
public sealed class BadInputTests(VenueServiceFixture fixture) : IClassFixture<VenueServiceFixture>
{
    private static readonly Dictionary<string, Func<World, (StatusCode Code, string Message, AsyncUnaryCall<SeatReservation> Call)>> Cases = new()
    {
        ["reserve with a malformed plan_id"] = w => (StatusCode.InvalidArgument, "plan_id 'hall-1' is not a UUID",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.PlanId = "hall-1"))),
        ["reserve without reservation_id"] = w => (StatusCode.InvalidArgument, "reservation_id is required",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.ReservationId = ""))),
        ["reserve with a malformed seat id"] = w => (StatusCode.InvalidArgument, "seat_ids[1] 'A-2' is not a UUID",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.SeatIds.Add("A-2")))),
        ["reserve no seat"] = w => (StatusCode.InvalidArgument, "seat_ids must name at least one seat",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.SeatIds.Clear()))),
        ["reserve a seat twice"] = w => (StatusCode.InvalidArgument, $"seat_ids names these seats more than once: {w.Seat}",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.SeatIds.Add(w.Seat.ToUpperInvariant())))),
        ["reserve more seats than allowed at once"] = w => (StatusCode.InvalidArgument, "at most 100 seats can be reserved at once, 101 were named",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.SeatIds.Add(Enumerable.Range(0, 100).Select(_ => Guid.CreateVersion7().ToString()))))),
        ["reserve without expires_at"] = w => (StatusCode.InvalidArgument, "expires_at is required",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.ExpiresAt = null))),
        ["reserve with expires_at in the past"] = w => (StatusCode.InvalidArgument, "is not in the future",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.ExpiresAt = VenueServiceHost.InMinutes(-1)))),
        ["reserve with an invalid expires_at"] = w => (StatusCode.InvalidArgument, "expires_at is not a valid timestamp",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.ExpiresAt = new Timestamp { Seconds = 4_000_000_000, Nanos = -5 }))),
        ["reserve with expires_at days ahead"] = w => (StatusCode.InvalidArgument, "is more than 24 hours ahead",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.ExpiresAt = VenueServiceHost.InMinutes(3 * 24 * 60)))),
        ["reserve in an unknown plan"] = w => (StatusCode.NotFound, $"seat plan {w.UnknownId} not found",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.PlanId = w.UnknownId))),
        ["reserve an unknown seat"] = w => (StatusCode.NotFound, $"seats not found in seat plan {w.PlanId}: {w.UnknownId}",
            w.Client.ReserveHeldSeatsAsync(w.Reserve(r => r.SeatIds.Add(w.UnknownId)))),
        ["auto-assign zero seats"] = w => (StatusCode.InvalidArgument, "qty must be between 1 and 100, got 0",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.Qty = 0))),
        ["auto-assign a negative quantity"] = w => (StatusCode.InvalidArgument, "qty must be between 1 and 100, got -2",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.Qty = -2))),
        ["auto-assign an absurd quantity"] = w => (StatusCode.InvalidArgument, "qty must be between 1 and 100, got 1000000",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.Qty = 1_000_000))),
        ["auto-assign without section"] = w => (StatusCode.InvalidArgument, "section is required",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.Section = ""))),
        ["auto-assign in an unknown section"] = w => (StatusCode.NotFound, $"section 'Stage' not found in seat plan {w.PlanId}",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.Section = "Stage"))),
        ["auto-assign in an unknown plan"] = w => (StatusCode.NotFound, $"seat plan {w.UnknownId} not found",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.PlanId = w.UnknownId))),
        ["auto-assign with expires_at in the past"] = w => (StatusCode.InvalidArgument, "is not in the future",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.ExpiresAt = VenueServiceHost.InMinutes(-5)))),
        ["auto-assign more than is left"] = w => (StatusCode.ResourceExhausted, "only 3 seats left in section 'Floor', 4 requested",
            w.Client.AutoAssignAndReserveAsync(w.Auto(r => r.Qty = 4))),
        ["finalize with a malformed order_id"] = w => (StatusCode.InvalidArgument, "order_id 'order-7' is not a UUID",
            w.Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = w.HeldReservationId, OrderId = "order-7" })),
        ["finalize without order_id"] = w => (StatusCode.InvalidArgument, "order_id is required",
            w.Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = w.HeldReservationId })),
        ["finalize an unknown reservation"] = w => (StatusCode.NotFound, $"seat reservation {w.UnknownId} not found",
            w.Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = w.UnknownId, OrderId = Guid.CreateVersion7().ToString() })),
        ["release without a reason"] = w => (StatusCode.InvalidArgument, "reason must be EXPIRED, CANCELLED or FAILED",
            w.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = w.HeldReservationId })),
        ["release with an undefined reason"] = w => (StatusCode.InvalidArgument, "reason must be EXPIRED, CANCELLED or FAILED",
            w.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = w.HeldReservationId, Reason = (SeatReleaseReason)99 })),
        ["release as ABANDONED"] = w => (StatusCode.InvalidArgument, "reason ABANDONED is reserved for holds the service reclaims itself",
            w.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = w.HeldReservationId, Reason = SeatReleaseReason.Abandoned })),
        ["release a malformed reservation_id"] = w => (StatusCode.InvalidArgument, "reservation_id 'r1' is not a UUID",
            w.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = "r1", Reason = SeatReleaseReason.Expired })),
    };

    public static TheoryData<string> Mistakes => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Mistakes))]
    public async Task Bad_input_is_refused_with_a_precise_status_and_changes_nothing(string mistake)
    {
        var plan = await fixture.Host.CreatePlanAsync(4);
        var seats = await fixture.Host.SeatIdsByLabelAsync(plan);
        var held = await fixture.Host.Client.ReserveHeldSeatsAsync(new ReserveHeldSeatsRequest
        {
            PlanId = plan.PlanId,
            ReservationId = Guid.CreateVersion7().ToString(),
            SeatIds = { seats["Floor A-4"] },
            ExpiresAt = VenueServiceHost.InMinutes(15),
        });
        var world = new World(fixture.Host.Client, plan.PlanId, seats["Floor A-1"], held.ReservationId, Guid.CreateVersion7().ToString());
        var snapshot = await fixture.Host.SnapshotAsync();

        var (code, message, call) = Cases[mistake](world);

        var failure = await RpcAssert.FailsWith(code, call);
        Assert.Contains(message, failure.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(snapshot, await fixture.Host.SnapshotAsync());
    }

    /// <summary>A plan "Floor" of 4 seats, A-4 held; requests start valid and each case spoils one thing.</summary>
    private sealed record World(Venues.VenuesClient Client, string PlanId, string Seat, string HeldReservationId, string UnknownId)
    {
        public ReserveHeldSeatsRequest Reserve(Action<ReserveHeldSeatsRequest> spoil)
        {
            var request = new ReserveHeldSeatsRequest
            {
                PlanId = PlanId,
                ReservationId = Guid.CreateVersion7().ToString(),
                SeatIds = { Seat },
                ExpiresAt = VenueServiceHost.InMinutes(15),
            };
            spoil(request);
            return request;
        }

        public AutoAssignAndReserveRequest Auto(Action<AutoAssignAndReserveRequest> spoil)
        {
            var request = new AutoAssignAndReserveRequest
            {
                PlanId = PlanId,
                ReservationId = Guid.CreateVersion7().ToString(),
                Section = "Floor",
                Qty = 2,
                ExpiresAt = VenueServiceHost.InMinutes(15),
            };
            spoil(request);
            return request;
        }
    }
}
