using Grpc.Core;
using TicketSaga.Testing;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService.Tests;

/// <summary>Each test has a database of its own: a reclaim pass looks at every hold in it.</summary>
public sealed class ReclaimTests(PostgresServer postgres) : IAsyncLifetime
{
    private VenueServiceHost Venue { get; set; } = null!;

    public async ValueTask InitializeAsync() => Venue = await VenueServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => Venue.DisposeAsync();

    [Fact]
    public async Task A_hold_abandoned_past_its_grace_period_is_reclaimed_and_can_no_longer_be_finalized()
    {
        var plan = await Venue.CreatePlanAsync(10);
        var expiresAt = DateTimeOffset.UtcNow.AddMinutes(1);
        var abandoned = await HoldAsync(plan, 2, expiresAt);
        var current = await HoldAsync(plan, 2, expiresAt.AddHours(1));
        var sold = await HoldAsync(plan, 2, expiresAt);
        var released = await HoldAsync(plan, 2, expiresAt);
        await Venue.Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = sold.ReservationId, OrderId = Guid.CreateVersion7().ToString() });
        await Venue.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = released.ReservationId, Reason = SeatReleaseReason.Expired });
        var snapshot = await Venue.SnapshotAsync();

        var withinGrace = await Venue.Reclaims.ReclaimAbandonedHoldsAsync(
            expiresAt + VenueServiceHost.GracePeriod - TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        Assert.Equal(0, withinGrace);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());

        var pastGrace = await Venue.Reclaims.ReclaimAbandonedHoldsAsync(
            expiresAt + VenueServiceHost.GracePeriod + TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        Assert.Equal(1, pastGrace);
        var map = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((6, 2, 2), (map.Available, map.Held, map.Sold));
        Assert.All(abandoned.Seats, seat => Assert.Equal(SeatStatus.Available, map.Seats.Single(s => s.SeatId == seat.SeatId).Status));
        Assert.All(current.Seats, seat => Assert.Equal(SeatStatus.Held, map.Seats.Single(s => s.SeatId == seat.SeatId).Status));

        var lateFinalize = await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Venue.Client.FinalizeSeatReservationAsync(
            new FinalizeSeatReservationRequest { ReservationId = abandoned.ReservationId, OrderId = Guid.CreateVersion7().ToString() }));
        Assert.Equal($"seat reservation {abandoned.ReservationId} was released (ABANDONED) and can no longer be finalized", lateFinalize.Status.Detail);

        // The order's own compensation arriving after the reclaim is answered, not refused.
        var compensation = await Venue.Client.ReleaseSeatReservationAsync(
            new ReleaseSeatReservationRequest { ReservationId = abandoned.ReservationId, Reason = SeatReleaseReason.Expired });
        Assert.Equal(SeatReservationState.Released, compensation.State);
        Assert.Equal(0, await Venue.Reclaims.ReclaimAbandonedHoldsAsync(DateTimeOffset.UtcNow.AddHours(1), TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Concurrent_reclaim_passes_and_finalizes_settle_every_hold_exactly_once()
    {
        var plan = await Venue.CreatePlanAsync(20, 20, 20);
        var expiresAt = DateTimeOffset.UtcNow.AddMinutes(1);
        var holds = new List<SeatReservation>();
        for (var i = 0; i < 30; i++)
        {
            holds.Add(await HoldAsync(plan, 2, expiresAt));
        }

        var passes = Enumerable.Range(0, 3).Select(_ => Task.Run(() =>
            Venue.Reclaims.ReclaimAbandonedHoldsAsync(DateTimeOffset.UtcNow.AddHours(1), TestContext.Current.CancellationToken))).ToList();
        var finalizes = holds.Where((_, i) => i % 2 == 0).Select(hold => Task.Run(async () =>
        {
            try
            {
                await Venue.Client.FinalizeSeatReservationAsync(
                    new FinalizeSeatReservationRequest { ReservationId = hold.ReservationId, OrderId = Guid.CreateVersion7().ToString() });
                return true;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
            {
                return false;
            }
        })).ToList();
        var reclaimed = (await Task.WhenAll(passes)).Sum();
        var finalized = (await Task.WhenAll(finalizes)).Count(won => won);

        Assert.Equal(30, reclaimed + finalized);
        var map = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((60 - (2 * finalized), 0, 2 * finalized), (map.Available, map.Held, map.Sold));
        Assert.All(await Venue.SeatsAsync(plan), seat => Assert.Equal(seat.Status == "SOLD", seat.ReservationId is not null));
    }

    [Fact]
    public async Task The_memory_of_a_release_that_released_nothing_is_purged_by_the_reclaim_pass_after_its_retention()
    {
        var plan = await Venue.CreatePlanAsync(4);
        var late = VenueServiceHost.FloorAutoAssign(plan, 2);
        await Venue.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = late.ReservationId, Reason = SeatReleaseReason.Failed });

        await Venue.Reclaims.ReclaimAbandonedHoldsAsync(DateTimeOffset.UtcNow.AddHours(47), TestContext.Current.CancellationToken);
        await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Venue.Client.AutoAssignAndReserveAsync(late));
        await Venue.Reclaims.ReclaimAbandonedHoldsAsync(DateTimeOffset.UtcNow.AddHours(49), TestContext.Current.CancellationToken);
        var reserved = await Venue.Client.AutoAssignAndReserveAsync(late);

        Assert.Equal(SeatReservationState.Held, reserved.State);
        Assert.Equal(2, reserved.Seats.Count);
    }

    private Task<SeatReservation> HoldAsync(SeatPlan plan, int qty, DateTimeOffset expiresAt) =>
        Venue.Client.AutoAssignAndReserveAsync(new AutoAssignAndReserveRequest
        {
            PlanId = plan.PlanId,
            ReservationId = Guid.CreateVersion7().ToString(),
            Section = "Floor",
            Qty = qty,
            ExpiresAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(expiresAt),
        }).ResponseAsync;
}
