using Grpc.Core;
using Microsoft.Extensions.Options;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using ReservationLedger = TicketSaga.TicketService.Reservations.ReservationLedger;
using ReservationOptions = TicketSaga.TicketService.Reservations.ReservationOptions;

namespace TicketSaga.TicketService.Tests;

public sealed class AbandonedHoldTests(PostgresServer postgres) : IAsyncLifetime
{
    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    /// <summary>Holds that expire a moment from now, then waits until they have.</summary>
    private async Task<List<ReserveQuotaRequest>> ExpiredHoldsAsync(TicketType ticket, int count)
    {
        // Long enough for the holds to be taken on a loaded machine (ReserveQuota refuses a past expires_at).
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        var holds = Enumerable.Range(0, count).Select(_ => TicketServiceHost.Hold(ticket, expiresAt: expiresAt)).ToList();
        await Task.WhenAll(holds.Select(_service.ReserveAsync));
        while (DateTimeOffset.UtcNow <= expiresAt.AddMilliseconds(50))
        {
            await Task.Delay(100, TestContext.Current.CancellationToken);
        }

        return holds;
    }

    [Fact]
    public async Task An_abandoned_hold_is_reclaimed_and_can_no_longer_be_finalized()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10, maxPerUser: 1);
        var live = TicketServiceHost.Hold(ticket);
        await _service.ReserveAsync(live);
        var abandoned = (await ExpiredHoldsAsync(ticket, 1))[0];

        Assert.Equal(1, await _service.Ledger.ReclaimAbandonedHoldsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(0, await _service.Ledger.ReclaimAbandonedHoldsAsync(TestContext.Current.CancellationToken));

        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((9, 1), (availability.Available, availability.Held));
        var error = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => _service.Client.FinalizeReservationAsync(
            new FinalizeReservationRequest { ReservationId = abandoned.ReservationId, OrderId = Guid.CreateVersion7().ToString() },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync);
        Assert.Contains("ABANDONED", error.Status.Detail);
        var release = await _service.Client.ReleaseReservationAsync(
            new ReleaseReservationRequest { ReservationId = abandoned.ReservationId, Reason = ReleaseReason.Expired },
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(ReleaseReason.Abandoned, release.Reason);
        // The reclaimed hold no longer counts against its user's max_per_user.
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, userId: abandoned.UserId));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task An_expired_hold_is_kept_during_the_grace_period()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        await ExpiredHoldsAsync(ticket, 1);
        var patientLedger = new ReservationLedger(_service.Database,
            Options.Create(new ReservationOptions { AbandonedHoldGrace = TimeSpan.FromHours(1) }));

        Assert.Equal(0, await patientLedger.ReclaimAbandonedHoldsAsync(TestContext.Current.CancellationToken));
        Assert.Equal(1, (await _service.AvailabilityAsync(ticket)).Held);
    }

    [Fact]
    public async Task Replicas_reclaiming_together_with_finalizes_and_releases_apply_each_hold_once()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 100);
        var holds = await ExpiredHoldsAsync(ticket, 40);
        var replicas = Enumerable.Range(0, 3).Select(_ => new ReservationLedger(_service.Database,
            Options.Create(new ReservationOptions { AbandonedHoldGrace = TimeSpan.Zero }))).ToList();

        var reclaims = replicas.Select(replica => Task.Run(() => replica.ReclaimAbandonedHoldsAsync(TestContext.Current.CancellationToken)));
        var finalizes = holds.Take(10).Select(hold => Task.Run(async () =>
        {
            try
            {
                await _service.Client.FinalizeReservationAsync(new FinalizeReservationRequest
                {
                    ReservationId = hold.ReservationId,
                    OrderId = Guid.CreateVersion7().ToString(),
                }, cancellationToken: TestContext.Current.CancellationToken);
                return 1;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
            {
                return 0;
            }
        }));
        var reclaimed = (await Task.WhenAll(reclaims)).Sum();
        var finalized = (await Task.WhenAll(finalizes)).Sum();

        Assert.Equal(40, reclaimed + finalized);
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((100 - finalized, 0, finalized), (availability.Available, availability.Held, availability.Sold));
        await _service.AssertConservedAsync(ticket);
    }
}
