using Grpc.Core;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService.Tests;

/// <summary>
/// "Cancel before try": order-service gave up on a seat reserve that timed out and compensated with a
/// release, and the reserve still arrives afterwards. It must hold nothing.
/// </summary>
public sealed class ReleaseBeforeReserveTests(VenueServiceFixture fixture) : IClassFixture<VenueServiceFixture>
{
    private VenueServiceHost Venue => fixture.Host;

    private Task<SeatReservation> ReleaseAsync(string reservationId, SeatReleaseReason reason) =>
        Venue.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = reservationId, Reason = reason }).ResponseAsync;

    [Fact]
    public async Task Release_of_an_unknown_reservation_releases_nothing_and_a_late_reserve_under_it_is_refused_and_holds_nothing()
    {
        var plan = await Venue.CreatePlanAsync(6);
        var seats = await Venue.SeatIdsByLabelAsync(plan);
        var reservationId = Guid.CreateVersion7().ToString();

        var first = await ReleaseAsync(reservationId, SeatReleaseReason.Failed);
        var afterRelease = await Venue.SnapshotAsync();
        var retry = await ReleaseAsync(reservationId, SeatReleaseReason.Failed);
        var otherReason = await RpcAssert.FailsWith(StatusCode.AlreadyExists,
            Venue.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = reservationId, Reason = SeatReleaseReason.Expired }));
        var named = await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Venue.Client.ReserveHeldSeatsAsync(new ReserveHeldSeatsRequest
        {
            PlanId = plan.PlanId,
            ReservationId = reservationId,
            SeatIds = { seats["Floor A-1"], seats["Floor A-2"] },
            ExpiresAt = VenueServiceHost.InMinutes(15),
        }));
        var auto = await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Venue.Client.AutoAssignAndReserveAsync(new AutoAssignAndReserveRequest
        {
            PlanId = plan.PlanId,
            ReservationId = reservationId,
            Section = "Floor",
            Qty = 2,
            ExpiresAt = VenueServiceHost.InMinutes(15),
        }));

        Assert.Equal(new SeatReservation { ReservationId = reservationId, State = SeatReservationState.Released }, first);
        Assert.Equal(first, retry);
        Assert.Equal($"seat reservation {reservationId} was already released (FAILED)", otherReason.Status.Detail);
        Assert.Equal($"seat reservation {reservationId} was already released", named.Status.Detail);
        Assert.Equal(named.Status.Detail, auto.Status.Detail);
        Assert.Equal(afterRelease, await Venue.SnapshotAsync());
        var map = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((6, 0, 0), (map.Available, map.Held, map.Sold));
    }

    [Fact]
    public async Task Concurrent_reserve_and_release_of_one_reservation_id_either_release_the_hold_or_refuse_the_reserve()
    {
        var plan = await Venue.CreatePlanAsync(20, 20, 20, 20, 20);
        var seats = await Venue.SeatIdsByLabelAsync(plan);

        // Even pairs name two seats of their own in rows D and E; odd pairs auto-assign 1 to 3, which the best rows A to C cover.
        var pairs = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var reservationId = Guid.CreateVersion7().ToString();
            var reserve = Task.Run(async () =>
            {
                try
                {
                    return (Seats: (await (i % 2 == 0
                        ? Venue.Client.ReserveHeldSeatsAsync(new ReserveHeldSeatsRequest
                        {
                            PlanId = plan.PlanId,
                            ReservationId = reservationId,
                            SeatIds = { seats[$"Floor D-{i / 2 + 1}"], seats[$"Floor E-{i / 2 + 1}"] },
                            ExpiresAt = VenueServiceHost.InMinutes(15),
                        })
                        : Venue.Client.AutoAssignAndReserveAsync(new AutoAssignAndReserveRequest
                        {
                            PlanId = plan.PlanId,
                            ReservationId = reservationId,
                            Section = "Floor",
                            Qty = 1 + i % 3,
                            ExpiresAt = VenueServiceHost.InMinutes(15),
                        }))).Seats.Select(s => s.SeatId).Order().ToList(), Failure: (RpcException?)null);
                }
                catch (RpcException ex)
                {
                    return (Seats: [], Failure: ex);
                }
            });
            var release = Task.Run(() => ReleaseAsync(reservationId, SeatReleaseReason.Failed));
            var (reserved, released) = (await reserve, await release);
            return (Id: reservationId, Refused: reserved.Failure, Held: reserved.Seats, Released: released.Seats.Select(s => s.SeatId).Order().ToList());
        }));

        // Reserved then released (the same seats), or released first and refused: never a hold that outlives its release.
        Assert.All(pairs, pair =>
        {
            if (pair.Refused is { } refused)
            {
                Assert.Equal((StatusCode.FailedPrecondition, $"seat reservation {pair.Id} was already released"), (refused.StatusCode, refused.Status.Detail));
            }

            Assert.Equal(pair.Held, pair.Released);
            Assert.Equal(pair.Refused is null, pair.Released.Count > 0);
        });
        foreach (var pair in pairs)
        {
            Assert.Equal(pair.Released.Count, (await ReleaseAsync(pair.Id, SeatReleaseReason.Failed)).Seats.Count);
        }

        var map = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((100, 0, 0), (map.Available, map.Held, map.Sold));
        Assert.All(await Venue.SeatsAsync(plan), seat => Assert.Equal(("AVAILABLE", (Guid?)null), (seat.Status, seat.ReservationId)));
    }
}
