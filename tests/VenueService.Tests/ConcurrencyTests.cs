extern alias VenueServiceApp;

using System.Text.RegularExpressions;
using Grpc.Core;
using TicketSaga.Testing;
using TicketSaga.Venue.V1;
using VenueServiceApp::TicketSaga.VenueService;

namespace TicketSaga.VenueService.Tests;

/// <summary>Real concurrent calls against one seat plan: no seat is ever held or sold twice.</summary>
public sealed class ConcurrencyTests(VenueServiceFixture fixture) : IClassFixture<VenueServiceFixture>
{
    private VenueServiceHost Venue => fixture.Host;

    [Fact]
    public async Task Fifty_reservers_fighting_over_five_seats_get_exactly_one_winner_per_seat()
    {
        var plan = await Venue.CreatePlanAsync(10);
        var contested = (await Venue.SeatIdsByLabelAsync(plan)).Where(s => s.Key.EndsWith("-3") || s.Key.EndsWith("-4") || s.Key.EndsWith("-5")
            || s.Key.EndsWith("-6") || s.Key.EndsWith("-7")).Select(s => s.Value).ToArray();

        var attempts = await RaceAsync(Enumerable.Range(0, 50).Select(i => Reserve(plan, contested[i % contested.Length])));

        var winners = attempts.Where(a => a.Reservation is not null).Select(a => a.Reservation!).ToList();
        Assert.Equal(contested.Order(), winners.Select(w => Assert.Single(w.Seats).SeatId).Order());
        Assert.All(attempts.Where(a => a.Reservation is null), a =>
        {
            Assert.Equal(StatusCode.FailedPrecondition, a.Failure!.StatusCode);
            Assert.Matches(@"^seats not available: Floor A-[3-7] \(held\)$", a.Failure.Status.Detail);
        });
        await AssertSeatsMatchWinnersAsync(plan, winners);
    }

    [Fact]
    public async Task Overlapping_multi_seat_requests_never_double_book_and_losers_hold_nothing()
    {
        var plan = await Venue.CreatePlanAsync(12);
        var seats = (await Venue.SeatIdsByLabelAsync(plan)).Values.Order().ToArray();
        var random = new Random(7);

        var attempts = await RaceAsync(Enumerable.Range(0, 50).Select(_ =>
            Reserve(plan, [.. seats.OrderBy(_ => random.Next()).Take(random.Next(1, 4))])));

        var winners = attempts.Where(a => a.Reservation is not null).Select(a => a.Reservation!).ToList();
        Assert.NotEmpty(winners);
        Assert.All(attempts.Where(a => a.Reservation is null), a => Assert.Equal(StatusCode.FailedPrecondition, a.Failure!.StatusCode));
        await AssertSeatsMatchWinnersAsync(plan, winners);
    }

    [Fact]
    public async Task Concurrent_auto_assignments_and_named_holds_never_double_book_and_conserve_capacity()
    {
        var plan = await Venue.CreatePlanAsync(8, 8, 8, 8, 8);
        var seats = (await Venue.SeatIdsByLabelAsync(plan)).Values.Order().ToArray();
        var random = new Random(11);

        var auto = Enumerable.Range(0, 30).Select(i => Race(() => Venue.Client.AutoAssignAndReserveAsync(VenueServiceHost.FloorAutoAssign(plan, 1 + (i % 3)))));
        var named = Enumerable.Range(0, 15).Select(_ => Race(() => Venue.Client.ReserveHeldSeatsAsync(Reserve(plan, seats[random.Next(seats.Length)]))));
        var attempts = await Task.WhenAll(auto.Concat(named));

        var winners = attempts.Where(a => a.Reservation is not null).Select(a => a.Reservation!).ToList();
        // 30 auto-assigns ask for 60 seats, more than the 40 there are: some must be told how few are left.
        Assert.Contains(attempts, a => a.Failure?.StatusCode == StatusCode.ResourceExhausted);
        Assert.All(attempts.Where(a => a.Reservation is null), a =>
        {
            if (a.Failure!.StatusCode == StatusCode.ResourceExhausted)
            {
                var exhausted = Regex.Match(a.Failure.Status.Detail, @"^only (\d+) seats? left in section 'Floor', (\d+) requested$");
                Assert.True(exhausted.Success, a.Failure.Status.Detail);
                Assert.True(int.Parse(exhausted.Groups[1].Value) < int.Parse(exhausted.Groups[2].Value), a.Failure.Status.Detail);
            }
            else
            {
                Assert.Matches(@"^seats not available: Floor [A-E]-[1-8] \(held\)$", a.Failure.Status.Detail);
            }
        });
        await AssertSeatsMatchWinnersAsync(plan, winners);

        foreach (var (winner, i) in winners.Select((w, i) => (w, i)))
        {
            if (i % 2 == 0)
            {
                await Venue.Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = winner.ReservationId, OrderId = Guid.CreateVersion7().ToString() });
            }
            else
            {
                await Venue.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = winner.ReservationId, Reason = SeatReleaseReason.Cancelled });
            }
        }

        var map = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal(40, map.Available + map.Held + map.Sold);
        Assert.Equal(winners.Where((_, i) => i % 2 == 0).Sum(w => w.Seats.Count), map.Sold);
        Assert.Equal(0, map.Held);
    }

    [Fact]
    public async Task An_auto_assign_refused_in_a_rush_holds_nothing_and_its_retry_gets_seats_once_some_are_freed()
    {
        var plan = await Venue.CreatePlanAsync(10);
        var requests = Enumerable.Range(0, 8).Select(_ => VenueServiceHost.FloorAutoAssign(plan, 2)).ToList();

        var attempts = await Task.WhenAll(requests.Select(r => Race(() => Venue.Client.AutoAssignAndReserveAsync(r))));

        var winners = attempts.Where(a => a.Reservation is not null).Select(a => a.Reservation!).ToList();
        Assert.Equal(5, winners.Count);
        Assert.All(winners, w => Assert.Equal(1, w.Seats.Max(s => s.Number) - w.Seats.Min(s => s.Number)));
        await AssertSeatsMatchWinnersAsync(plan, winners);

        await Venue.Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = winners[0].ReservationId, Reason = SeatReleaseReason.Cancelled });
        var refused = requests[Array.FindIndex(attempts, a => a.Reservation is null)];
        var retried = await Venue.Client.AutoAssignAndReserveAsync(refused);

        Assert.Equal(winners[0].Seats.Select(s => s.SeatId).Order(), retried.Seats.Select(s => s.SeatId).Order());
    }

    [Fact]
    public async Task Retries_racing_their_first_attempt_hold_seats_once_and_all_get_the_same_seats()
    {
        var plan = await Venue.CreatePlanAsync(10);
        var request = VenueServiceHost.FloorAutoAssign(plan, 2);

        var answers = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => Task.Run(async () => await Venue.Client.AutoAssignAndReserveAsync(request))));

        Assert.All(answers, a => Assert.Equal(answers[0].Seats.Select(s => s.SeatId), a.Seats.Select(s => s.SeatId)));
        Assert.Equal(2, answers[0].Seats.Count);
        await AssertSeatsMatchWinnersAsync(plan, [answers[0]]);
    }

    [Fact]
    public async Task A_section_whose_queue_went_idle_is_served_again_by_a_new_one()
    {
        var plan = await Venue.CreatePlanAsync(10);
        await using var dataSource = Npgsql.NpgsqlDataSource.Create(Venue.ConnectionString);
        var assigner = new SectionAutoAssigner(dataSource, idleLifetime: TimeSpan.FromMilliseconds(50));
        var planId = Guid.Parse(plan.PlanId);
        Task<SeatReservationRecord> Reserve() =>
            assigner.ReserveAsync(planId, Guid.CreateVersion7(), "Floor", 1, DateTime.UtcNow.AddMinutes(15), TestContext.Current.CancellationToken);

        var first = await Reserve();
        await Eventually.HoldsAsync(() => Task.FromResult(assigner.Queues == 0), "the idle section's queue to go");
        var rush = await Task.WhenAll(Enumerable.Range(0, 9).Select(_ => Reserve()));

        Assert.Equal(10, rush.Append(first).SelectMany(r => r.Seats).Select(s => s.SeatId).Distinct().Count());
    }

    /// <summary>Every winner's seats are held by it in the database, no seat twice, and nothing else is held.</summary>
    private async Task AssertSeatsMatchWinnersAsync(SeatPlan plan, List<SeatReservation> winners)
    {
        var claimed = winners.SelectMany(w => w.Seats.Select(s => (Seat: Guid.Parse(s.SeatId), Reservation: Guid.Parse(w.ReservationId)))).ToList();
        Assert.Equal(claimed.Count, claimed.Select(c => c.Seat).Distinct().Count());

        var stored = await Venue.SeatsAsync(plan);
        Assert.Equal(
            claimed.OrderBy(c => c.Seat),
            stored.Where(s => s.ReservationId is not null).Select(s => (Seat: s.SeatId, Reservation: s.ReservationId!.Value)).OrderBy(c => c.Seat));
        Assert.All(stored, s => Assert.Equal(s.ReservationId is null ? "AVAILABLE" : "HELD", s.Status));

        var map = await Venue.Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((stored.Count - claimed.Count, claimed.Count, 0), (map.Available, map.Held, map.Sold));
    }

    private Task<Attempt[]> RaceAsync(IEnumerable<ReserveHeldSeatsRequest> requests) =>
        Task.WhenAll(requests.ToList().Select(r => Race(() => Venue.Client.ReserveHeldSeatsAsync(r))));

    private static Task<Attempt> Race(Func<AsyncUnaryCall<SeatReservation>> call) => Task.Run(async () =>
    {
        try
        {
            return new Attempt(await call(), null);
        }
        catch (RpcException ex)
        {
            return new Attempt(null, ex);
        }
    });

    private static ReserveHeldSeatsRequest Reserve(SeatPlan plan, params string[] seatIds) => new()
    {
        PlanId = plan.PlanId,
        ReservationId = Guid.CreateVersion7().ToString(),
        SeatIds = { seatIds },
        ExpiresAt = VenueServiceHost.InMinutes(15),
    };

    private sealed record Attempt(SeatReservation? Reservation, RpcException? Failure);
}
