using Grpc.Core;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.TicketService.Tests;

public sealed class FinalizeAndReleaseTests(PostgresServer postgres) : IAsyncLifetime
{
    private static readonly int[] HoldSizes = [1, 2, 1];

    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    private Task<FinalizeReservationResponse> FinalizeAsync(string reservationId, string orderId) =>
        _service.Client.FinalizeReservationAsync(new FinalizeReservationRequest { ReservationId = reservationId, OrderId = orderId },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

    private Task<ReleaseReservationResponse> ReleaseAsync(string reservationId, ReleaseReason reason, string soldTo = "") =>
        _service.Client.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = reservationId, Reason = reason, OrderId = soldTo },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

    [Fact]
    public async Task Finalize_sells_the_hold_and_a_retry_returns_the_first_answer_and_changes_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var hold = TicketServiceHost.Hold(ticket, qty: 2);
        await _service.ReserveAsync(hold);
        var orderId = Guid.CreateVersion7().ToString();

        var first = await FinalizeAsync(hold.ReservationId, orderId);
        var before = await _service.SnapshotAsync();
        var retry = await FinalizeAsync(hold.ReservationId, orderId);

        Assert.Equal(new FinalizeReservationResponse { ReservationId = hold.ReservationId, OrderId = orderId, Qty = 2 }, first);
        Assert.Equal(first, retry);
        Assert.Equal(before, await _service.SnapshotAsync());
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((8, 0, 2), (availability.Available, availability.Held, availability.Sold));
        var other = Guid.CreateVersion7().ToString();
        var twice = await GrpcAssert.FailsWith(StatusCode.AlreadyExists, () => FinalizeAsync(hold.ReservationId, other));
        Assert.Contains($"already finalized for order {orderId}", twice.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await _service.SnapshotAsync());
    }

    [Fact]
    public async Task Release_gives_the_hold_back_and_a_retry_returns_the_first_answer_and_changes_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var hold = TicketServiceHost.Hold(ticket, qty: 3);
        await _service.ReserveAsync(hold);

        var first = await ReleaseAsync(hold.ReservationId, ReleaseReason.Expired);
        var before = await _service.SnapshotAsync();
        var retry = await ReleaseAsync(hold.ReservationId, ReleaseReason.Expired);
        var laterCancel = await ReleaseAsync(hold.ReservationId, ReleaseReason.Cancelled);

        Assert.Equal(new ReleaseReservationResponse { ReservationId = hold.ReservationId, Qty = 3, Reason = ReleaseReason.Expired }, first);
        Assert.Equal(first, retry);
        Assert.Equal(first, laterCancel);
        Assert.Equal(before, await _service.SnapshotAsync());
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task Finalize_after_release_and_release_after_finalize_fail_the_precondition_and_change_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var released = TicketServiceHost.Hold(ticket);
        var sold = TicketServiceHost.Hold(ticket);
        await _service.ReserveAsync(released);
        await _service.ReserveAsync(sold);
        await ReleaseAsync(released.ReservationId, ReleaseReason.Cancelled);
        await FinalizeAsync(sold.ReservationId, Guid.CreateVersion7().ToString());
        var before = await _service.SnapshotAsync();

        var finalizeReleased = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition,
            () => FinalizeAsync(released.ReservationId, Guid.CreateVersion7().ToString()));
        var releaseSold = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition,
            () => ReleaseAsync(sold.ReservationId, ReleaseReason.Expired));

        Assert.Contains("was released (CANCELLED)", finalizeReleased.Status.Detail);
        Assert.Contains("was finalized for order", releaseSold.Status.Detail);
        Assert.Equal(before, await _service.SnapshotAsync());
    }

    [Fact]
    public async Task Racing_finalize_and_release_of_one_hold_let_exactly_one_win()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 100, maxPerUser: 1);
        var holds = Enumerable.Range(0, 20).Select(_ => TicketServiceHost.Hold(ticket)).ToList();
        foreach (var hold in holds)
        {
            await _service.ReserveAsync(hold);
        }

        var outcomes = await Task.WhenAll(holds.Select(hold => Task.Run(async () =>
        {
            var finalize = Outcome(() => FinalizeAsync(hold.ReservationId, Guid.CreateVersion7().ToString()));
            var release = Outcome(() => ReleaseAsync(hold.ReservationId, ReleaseReason.Expired));
            return (Finalize: await finalize, Release: await release);
        })));

        Assert.All(outcomes, o => Assert.Contains(o, new[] { (StatusCode.OK, StatusCode.FailedPrecondition), (StatusCode.FailedPrecondition, StatusCode.OK) }));
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal(outcomes.Count(o => o.Finalize == StatusCode.OK), availability.Sold);
        Assert.Equal(0, availability.Held);
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task Concurrent_duplicate_finalizes_and_releases_apply_once()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var sold = TicketServiceHost.Hold(ticket, qty: 2);
        var released = TicketServiceHost.Hold(ticket, qty: 3);
        await _service.ReserveAsync(sold);
        await _service.ReserveAsync(released);
        var orderId = Guid.CreateVersion7().ToString();

        var finalizes = Enumerable.Range(0, 10).Select(_ => Task.Run(() => FinalizeAsync(sold.ReservationId, orderId)));
        var releases = Enumerable.Range(0, 10).Select(_ => Task.Run(() => ReleaseAsync(released.ReservationId, ReleaseReason.Failed)));
        var finalized = await Task.WhenAll(finalizes);
        var releasedAnswers = await Task.WhenAll(releases);

        Assert.All(finalized, answer => Assert.Equal(2, answer.Qty));
        Assert.All(releasedAnswers, answer => Assert.Equal(3, answer.Qty));
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((8, 0, 2), (availability.Available, availability.Held, availability.Sold));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task Releases_arriving_together_each_get_their_own_answer_and_give_back_exactly_their_stock()
    {
        // Two ticket types and users with several holds each: the releases share transactions across types, users and slots.
        var (tickets, holds) = await TwoTypesHeldByTenUsersAsync();
        var (soldBack, soldElsewhere, releasedBefore) = (holds[0], holds[1], holds[2]);
        var (order, otherOrder) = (Guid.CreateVersion7().ToString(), Guid.CreateVersion7().ToString());
        await FinalizeAsync(soldBack.ReservationId, order);
        await FinalizeAsync(soldElsewhere.ReservationId, otherOrder);
        await ReleaseAsync(releasedBefore.ReservationId, ReleaseReason.Cancelled);
        var neverHeld = Enumerable.Range(0, 5).Select(_ => Guid.CreateVersion7().ToString()).ToList();

        // Each release twice, all at once: a duplicate must get the first one's answer.
        var requests = holds.Select(h => (h.ReservationId, Qty: h.Qty, SoldTo: h == soldBack ? order : ""))
            .Concat(neverHeld.Select(id => (ReservationId: id, Qty: 0, SoldTo: "")))
            .ToList();
        var answers = await Task.WhenAll(requests.Concat(requests).Select(r => Task.Run(async () =>
        {
            try
            {
                return (Request: r, Status: StatusCode.OK, Reply: await ReleaseAsync(r.ReservationId, ReleaseReason.Expired, r.SoldTo));
            }
            catch (RpcException ex)
            {
                return (Request: r, Status: ex.StatusCode, Reply: (ReleaseReservationResponse?)null);
            }
        })));

        foreach (var (request, status, reply) in answers)
        {
            if (request.ReservationId == soldElsewhere.ReservationId)
            {
                Assert.Equal(StatusCode.FailedPrecondition, status);
                continue;
            }

            Assert.Equal(StatusCode.OK, status);
            var reason = request.ReservationId == releasedBefore.ReservationId ? ReleaseReason.Cancelled : ReleaseReason.Expired;
            Assert.Equal(new ReleaseReservationResponse { ReservationId = request.ReservationId, Qty = request.Qty, Reason = reason }, reply);
        }

        var first = await _service.AvailabilityAsync(tickets[0]);
        Assert.Equal((62, 0, 2), (first.Available, first.Held, first.Sold));
        var second = await _service.AvailabilityAsync(tickets[1]);
        Assert.Equal((64, 0, 0), (second.Available, second.Held, second.Sold));
        await _service.AssertConservedAsync(tickets[0]);
        await _service.AssertConservedAsync(tickets[1]);
        // Only the sale to the other order still counts against a user's max_per_user; no tally of 0 is left behind.
        await using var tallies = _service.Database.CreateCommand("SELECT user_id, qty FROM ticket_user_quota WHERE ticket_id = ANY($1)");
        tallies.Parameters.AddWithValue(tickets.Select(t => Guid.Parse(t.TicketId)).ToArray());
        await using var reader = await tallies.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        Assert.True(await reader.ReadAsync(TestContext.Current.CancellationToken));
        Assert.Equal((soldElsewhere.UserId, 2), (reader.GetString(0), reader.GetInt32(1)));
        Assert.False(await reader.ReadAsync(TestContext.Current.CancellationToken));
        // A sound batch is never decided again one by one: that fallback hides lock-order and arithmetic mistakes.
        Assert.DoesNotContain(_service.Warnings.Messages, m => m.Contains("one by one", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_release_the_database_refuses_fails_alone_and_the_releases_batched_with_it_go_through()
    {
        var (ticket, holds, broken) = await TwentyHoldsOneBrokenAsync();

        var alone = await GrpcAssert.FailsWith(StatusCode.Unavailable, () => ReleaseAsync(broken.ReservationId, ReleaseReason.Expired));
        Assert.Equal("The release could not be stored; retry it.", alone.Status.Detail);
        Assert.Contains($"The release of {broken.ReservationId} failed", _service.Warnings.Messages);

        var answers = await Task.WhenAll(holds.Select(h => Task.Run(() => Outcome(() => ReleaseAsync(h.ReservationId, ReleaseReason.Expired)))));

        Assert.Equal(StatusCode.Unavailable, answers[7]);
        Assert.All(answers.Where((_, i) => i != 7), answer => Assert.Equal(StatusCode.OK, answer));
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((63, 1), (availability.Available, availability.Held));
    }

    [Fact]
    public async Task Finalizes_arriving_together_each_get_their_own_answer_and_sell_exactly_their_stock()
    {
        // Two ticket types and users with several holds each: the finalizes share transactions across types, users and slots.
        var (tickets, holds) = await TwoTypesHeldByTenUsersAsync();
        var orders = holds.ToDictionary(h => h.ReservationId, _ => Guid.CreateVersion7().ToString());
        var (soldBefore, soldElsewhere, released) = (holds[0], holds[1], holds[^1]);
        await FinalizeAsync(soldBefore.ReservationId, orders[soldBefore.ReservationId]);
        await FinalizeAsync(soldElsewhere.ReservationId, Guid.CreateVersion7().ToString());
        await ReleaseAsync(released.ReservationId, ReleaseReason.Expired);
        var neverHeld = Enumerable.Range(0, 5).Select(_ => Guid.CreateVersion7().ToString()).ToList();
        neverHeld.ForEach(id => orders[id] = Guid.CreateVersion7().ToString());

        // Each finalize twice, all at once: a duplicate must get the first one's answer.
        var requests = holds.Select(h => (h.ReservationId, h.Qty)).Concat(neverHeld.Select(id => (ReservationId: id, Qty: 0))).ToList();
        var answers = await Task.WhenAll(requests.Concat(requests).Select(r => Task.Run(async () =>
        {
            try
            {
                return (Request: r, Status: StatusCode.OK, Reply: await FinalizeAsync(r.ReservationId, orders[r.ReservationId]));
            }
            catch (RpcException ex)
            {
                return (Request: r, Status: ex.StatusCode, Reply: (FinalizeReservationResponse?)null);
            }
        })));

        foreach (var (request, status, reply) in answers)
        {
            var expected = request.ReservationId == soldElsewhere.ReservationId ? StatusCode.AlreadyExists
                : request.ReservationId == released.ReservationId ? StatusCode.FailedPrecondition
                : request.Qty == 0 ? StatusCode.NotFound
                : StatusCode.OK;
            Assert.Equal(expected, status);
            if (status == StatusCode.OK)
            {
                Assert.Equal(new FinalizeReservationResponse { ReservationId = request.ReservationId, OrderId = orders[request.ReservationId], Qty = request.Qty }, reply);
            }
        }

        var first = await _service.AvailabilityAsync(tickets[0]);
        Assert.Equal((24, 0, 40), (first.Available, first.Held, first.Sold));
        var second = await _service.AvailabilityAsync(tickets[1]);
        Assert.Equal((25, 0, 39), (second.Available, second.Held, second.Sold));
        await _service.AssertConservedAsync(tickets[0]);
        await _service.AssertConservedAsync(tickets[1]);
        await using var sales = _service.Database.CreateCommand("SELECT reservation_id, order_id FROM reservations WHERE status = 'SOLD' AND ticket_id = ANY($1)");
        sales.Parameters.AddWithValue(tickets.Select(t => Guid.Parse(t.TicketId)).ToArray());
        await using var reader = await sales.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var soldTo = new Dictionary<string, string>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            soldTo[reader.GetGuid(0).ToString()] = reader.GetGuid(1).ToString();
        }

        // Every sale went to its own order; the one sold elsewhere kept its first buyer.
        Assert.Equal(holds.Count - 1, soldTo.Count);
        Assert.All(holds.Where(h => h != released && h != soldElsewhere), h => Assert.Equal(orders[h.ReservationId], soldTo[h.ReservationId]));
        Assert.NotEqual(orders[soldElsewhere.ReservationId], soldTo[soldElsewhere.ReservationId]);
        // A sound batch is never decided again one by one: that fallback hides lock-order and arithmetic mistakes.
        Assert.DoesNotContain(_service.Warnings.Messages, m => m.Contains("one by one", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_finalize_the_database_refuses_fails_alone_and_the_finalizes_batched_with_it_go_through()
    {
        var (ticket, holds, broken) = await TwentyHoldsOneBrokenAsync();

        // Alone it fails once, logged, and is not tried again as if it had been part of a batch.
        var alone = await GrpcAssert.FailsWith(StatusCode.Unavailable, () => FinalizeAsync(broken.ReservationId, Guid.CreateVersion7().ToString()));
        Assert.Equal("The finalize could not be stored; retry it.", alone.Status.Detail);
        Assert.Contains($"The finalize of {broken.ReservationId} failed", _service.Warnings.Messages);
        Assert.DoesNotContain(_service.Warnings.Messages, m => m.Contains("one by one", StringComparison.Ordinal));

        var answers = await Task.WhenAll(holds.Select(h => Task.Run(() => Outcome(() => FinalizeAsync(h.ReservationId, Guid.CreateVersion7().ToString())))));

        Assert.Equal(StatusCode.Unavailable, answers[7]);
        Assert.All(answers.Where((_, i) => i != 7), answer => Assert.Equal(StatusCode.OK, answer));
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((44, 1, 19), (availability.Available, availability.Held, availability.Sold));
    }

    /// <summary>Two types of 64, and ten users each holding 1, 2 and 1 of both (40 held per type).</summary>
    private async Task<(TicketType[] Tickets, List<ReserveQuotaRequest> Holds)> TwoTypesHeldByTenUsersAsync()
    {
        var tickets = new[] { await _service.CreateTicketTypeAsync(capacity: 64, maxPerUser: 4), await _service.CreateTicketTypeAsync(capacity: 64, maxPerUser: 4) };
        var holds = (from ticket in tickets
                     from user in Enumerable.Range(0, 10)
                     from qty in HoldSizes
                     select TicketServiceHost.Hold(ticket, qty, userId: $"user-{user}")).ToList();
        await Task.WhenAll(holds.Select(_service.ReserveAsync));
        return (tickets, holds);
    }

    /// <summary>Twenty holds of one type; the eighth claims more than its slot holds, so moving its stock breaks the slot's CHECK.</summary>
    private async Task<(TicketType Ticket, List<ReserveQuotaRequest> Holds, ReserveQuotaRequest Broken)> TwentyHoldsOneBrokenAsync()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 64);
        var holds = Enumerable.Range(0, 20).Select(_ => TicketServiceHost.Hold(ticket)).ToList();
        await Task.WhenAll(holds.Select(_service.ReserveAsync));
        var broken = holds[7];
        await using var corrupt = _service.Database.CreateCommand("UPDATE reservations SET slot_qtys = ARRAY[1000] WHERE reservation_id = $1");
        corrupt.Parameters.AddWithValue(Guid.Parse(broken.ReservationId));
        await corrupt.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        return (ticket, holds, broken);
    }

    private static async Task<StatusCode> Outcome(Func<Task> call)
    {
        try
        {
            await call();
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
