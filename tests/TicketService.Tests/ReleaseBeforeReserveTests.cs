using Grpc.Core;
using Microsoft.Extensions.Options;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using ReservationLedger = TicketSaga.TicketService.Reservations.ReservationLedger;
using ReservationOptions = TicketSaga.TicketService.Reservations.ReservationOptions;

namespace TicketSaga.TicketService.Tests;

/// <summary>
/// "Cancel before try": order-service gave up on a ReserveQuota that timed out and compensated with a
/// release, and the reserve still arrives afterwards. It must hold nothing.
/// </summary>
public sealed class ReleaseBeforeReserveTests(PostgresServer postgres) : IAsyncLifetime
{
    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    private Task<ReleaseReservationResponse> ReleaseAsync(string reservationId, ReleaseReason reason) =>
        _service.Client.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = reservationId, Reason = reason },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

    [Fact]
    public async Task Release_of_an_unknown_reservation_releases_nothing_and_a_late_reserve_under_it_is_refused_and_holds_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var late = TicketServiceHost.Hold(ticket, qty: 2);

        var first = await ReleaseAsync(late.ReservationId, ReleaseReason.Failed);
        var afterRelease = await _service.SnapshotAsync();
        var retry = await ReleaseAsync(late.ReservationId, ReleaseReason.Failed);
        var laterExpiry = await ReleaseAsync(late.ReservationId, ReleaseReason.Expired);
        var refused = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => _service.ReserveAsync(late));

        Assert.Equal(new ReleaseReservationResponse { ReservationId = late.ReservationId, Qty = 0, Reason = ReleaseReason.Failed }, first);
        Assert.Equal(first, retry);
        Assert.Equal(first, laterExpiry);
        Assert.Equal($"Reservation {late.ReservationId} was already released.", refused.Status.Detail);
        Assert.Equal(afterRelease, await _service.SnapshotAsync());
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task A_released_reservation_id_in_a_batch_of_reserves_fails_only_its_own_hold()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 100);
        var late = TicketServiceHost.Hold(ticket, qty: 3);
        await ReleaseAsync(late.ReservationId, ReleaseReason.Failed);
        var others = Enumerable.Range(0, 30).Select(i => TicketServiceHost.Hold(ticket, qty: 1 + i % 2)).ToList();

        var lateReserve = Task.Run(() => _service.ReserveAsync(late));
        var otherReserves = others.Select(hold => Task.Run(() => _service.ReserveAsync(hold))).ToList();

        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => lateReserve);
        Assert.All(await Task.WhenAll(otherReserves), answer => Assert.True(answer.Success));
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal(others.Sum(h => h.Qty), availability.Held);
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task Concurrent_reserve_and_release_of_one_reservation_id_either_release_the_hold_or_refuse_the_reserve()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 200);
        var holds = Enumerable.Range(0, 40).Select(i => TicketServiceHost.Hold(ticket, qty: 1 + i % 3)).ToList();

        var pairs = await Task.WhenAll(holds.Select(async hold =>
        {
            var reserve = Task.Run(async () =>
            {
                try
                {
                    await _service.ReserveAsync(hold);
                    return StatusCode.OK;
                }
                catch (RpcException ex)
                {
                    return ex.StatusCode;
                }
            });
            var release = Task.Run(() => ReleaseAsync(hold.ReservationId, ReleaseReason.Failed));
            return (Hold: hold, Reserve: await reserve, Released: (await release).Qty);
        }));

        // Reserved then released, or released first and refused: never a hold that outlives its release.
        Assert.All(pairs, pair => Assert.Contains((pair.Reserve, pair.Released), new[] { (StatusCode.OK, pair.Hold.Qty), (StatusCode.FailedPrecondition, 0) }));
        foreach (var pair in pairs)
        {
            Assert.Equal(pair.Released, (await ReleaseAsync(pair.Hold.ReservationId, ReleaseReason.Failed)).Qty);
        }

        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((200, 0, 0), (availability.Available, availability.Held, availability.Sold));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task A_release_waits_for_a_reserve_of_its_id_still_in_flight()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var hold = TicketServiceHost.Hold(ticket);

        // A reserve of the id under way holds the id's lock until it commits (here: the test's transaction).
        await using var connection = await _service.Database.OpenConnectionAsync(TestContext.Current.CancellationToken);
        await using var reserving = await connection.BeginTransactionAsync(TestContext.Current.CancellationToken);
        await TicketSaga.ServiceDefaults.ReservationIdLock.AcquireAsync(connection, [Guid.Parse(hold.ReservationId)], TestContext.Current.CancellationToken);
        var release = ReleaseAsync(hold.ReservationId, ReleaseReason.Failed);
        await Task.Delay(500, TestContext.Current.CancellationToken);

        // Answered now, it could only say "nothing held" while the reserve may still commit its hold.
        Assert.False(release.IsCompleted, "the release did not wait for the reserve of its id");
        await reserving.CommitAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, (await release).Qty);
    }

    [Fact]
    public async Task The_memory_of_a_release_that_released_nothing_is_purged_by_the_reclaim_pass_after_its_retention()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var late = TicketServiceHost.Hold(ticket);
        await ReleaseAsync(late.ReservationId, ReleaseReason.Failed);
        ReservationLedger Ledger(TimeSpan retention) => new(_service.Database,
            Options.Create(new ReservationOptions { AbandonedHoldGrace = TimeSpan.FromHours(1), TombstoneRetention = retention }));

        await Ledger(TimeSpan.FromHours(1)).ReclaimAbandonedHoldsAsync(TestContext.Current.CancellationToken);
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => _service.ReserveAsync(late));
        await Ledger(TimeSpan.Zero).ReclaimAbandonedHoldsAsync(TestContext.Current.CancellationToken);
        var reserved = await _service.ReserveAsync(late);

        Assert.True(reserved.Success);
        Assert.Equal(1, (await _service.AvailabilityAsync(ticket)).Held);
    }
}
