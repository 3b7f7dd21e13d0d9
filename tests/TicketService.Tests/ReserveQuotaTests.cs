using Grpc.Core;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.TicketService.Tests;

public sealed class ReserveQuotaTests(PostgresServer postgres) : IAsyncLifetime
{
    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    [Fact]
    public async Task A_hold_answers_remaining_the_price_locked_at_hold_time_and_the_seat_plan()
    {
        var seatPlanId = Guid.CreateVersion7().ToString();
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10, maxPerUser: 4, priceMinor: 4_500, seatPlanId: seatPlanId, section: "Balcony");
        var request = TicketServiceHost.Hold(ticket, qty: 3);

        var hold = await _service.ReserveAsync(request);

        Assert.True(hold.Success);
        Assert.Equal(7, hold.Remaining);
        Assert.Equal(4_500, hold.UnitPrice.AmountMinor);
        Assert.Equal("EUR", hold.UnitPrice.Currency);
        Assert.Equal(4, hold.MaxPerUser);
        Assert.Equal(seatPlanId, hold.SeatPlanId);
        Assert.Equal("Balcony", hold.Section);
        Assert.Equal(request.ExpiresAt.ToDateTimeOffset(), hold.ExpiresAt.ToDateTimeOffset(), TimeSpan.FromMicroseconds(1));
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((10, 7, 3, 0), (availability.Capacity, availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task A_retried_reserve_returns_the_first_answer_and_changes_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var request = TicketServiceHost.Hold(ticket, qty: 2);
        var first = await _service.ReserveAsync(request);
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 1));
        var before = await _service.SnapshotAsync();

        var retry = await _service.ReserveAsync(request);

        Assert.Equal(first, retry);
        Assert.Equal(before, await _service.SnapshotAsync());
    }

    [Fact]
    public async Task Concurrent_duplicates_of_one_reservation_hold_the_quota_once()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 100);
        var request = TicketServiceHost.Hold(ticket, qty: 3);

        var answers = await Task.WhenAll(Enumerable.Range(0, 30).Select(_ => Task.Run(() => _service.ReserveAsync(request))));

        Assert.All(answers, answer => Assert.Equal(answers[0], answer));
        Assert.Equal(3, (await _service.AvailabilityAsync(ticket)).Held);
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task A_reservation_id_reused_with_other_arguments_is_refused_and_changes_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var request = TicketServiceHost.Hold(ticket, qty: 2);
        await _service.ReserveAsync(request);
        var before = await _service.SnapshotAsync();

        var other = request.Clone();
        other.Qty = 3;
        await GrpcAssert.FailsWith(StatusCode.AlreadyExists, () => _service.ReserveAsync(other));
        var otherUser = request.Clone();
        otherUser.UserId = "someone-else";
        await GrpcAssert.FailsWith(StatusCode.AlreadyExists, () => _service.ReserveAsync(otherUser));

        Assert.Equal(before, await _service.SnapshotAsync());
    }

    [Fact]
    public async Task Concurrent_reservers_never_oversell_a_quota()
    {
        const int Buyers = 200, Quota = 37;
        var ticket = await _service.CreateTicketTypeAsync(capacity: Quota);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, Buyers).Select(_ => Task.Run(async () =>
        {
            try
            {
                await _service.ReserveAsync(TicketServiceHost.Hold(ticket));
                return StatusCode.OK;
            }
            catch (RpcException ex)
            {
                return ex.StatusCode;
            }
        })));

        Assert.Equal(Quota, outcomes.Count(o => o == StatusCode.OK));
        Assert.Equal(Buyers - Quota, outcomes.Count(o => o == StatusCode.ResourceExhausted));
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((0, Quota), (availability.Available, availability.Held));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task A_hold_larger_than_what_is_left_says_how_many_are_left()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 5);
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 3));

        var error = await GrpcAssert.FailsWith(StatusCode.ResourceExhausted, () => _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 3)));

        Assert.Contains("Only 2 left", error.Status.Detail);
        Assert.Equal(2, (await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 2))).Remaining + 2);
    }

    [Fact]
    public async Task A_hold_can_take_quota_spread_over_several_slots()
    {
        // 40 tickets split over 32 slots: no single slot has 10.
        var ticket = await _service.CreateTicketTypeAsync(capacity: 40, maxPerUser: 40);

        var hold = await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 40));

        Assert.Equal(0, hold.Remaining);
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task Max_per_user_counts_live_holds_and_purchases_across_reservations()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 100, maxPerUser: 4);
        var bought = TicketServiceHost.Hold(ticket, qty: 2, userId: "ana");
        await _service.ReserveAsync(bought);
        await _service.Client.FinalizeReservationAsync(new FinalizeReservationRequest
        {
            ReservationId = bought.ReservationId,
            OrderId = Guid.CreateVersion7().ToString(),
        }, cancellationToken: TestContext.Current.CancellationToken);
        var held = TicketServiceHost.Hold(ticket, qty: 1, userId: "ana");
        await _service.ReserveAsync(held);
        var before = await _service.SnapshotAsync();

        var error = await GrpcAssert.FailsWith(StatusCode.ResourceExhausted,
            () => _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 2, userId: "ana")));
        Assert.Contains("already holds or bought 3 of at most 4", error.Status.Detail);
        Assert.Equal(before, await _service.SnapshotAsync());

        await _service.Client.ReleaseReservationAsync(new ReleaseReservationRequest
        {
            ReservationId = held.ReservationId,
            Reason = ReleaseReason.Cancelled,
        }, cancellationToken: TestContext.Current.CancellationToken);
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 2, userId: "ana"));
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 4, userId: "ben"));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task Concurrent_reservations_of_one_user_never_pass_max_per_user()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 100, maxPerUser: 5);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            try
            {
                await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 1 + i % 2, userId: "carla"));
                return 1 + i % 2;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
            {
                return 0;
            }
        })));

        Assert.InRange(outcomes.Sum(), 4, 5);
        Assert.Equal(outcomes.Sum(), (await _service.AvailabilityAsync(ticket)).Held);
        await _service.AssertConservedAsync(ticket);
    }
}
