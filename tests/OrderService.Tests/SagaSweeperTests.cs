using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.Outbox;
using TicketSaga.Testing;

namespace TicketSaga.OrderService.Tests;

/// <summary>Which live orders a pass of the saga sweeper looks at (the pass's bounds, and its query on order-service's database), and how it runs.</summary>
public sealed class SagaSweeperTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    private static readonly TimeSpan Microsecond = TimeSpan.FromTicks(10);

    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);

    private static SagaSweeper.Passes NewPasses() =>
        new(new OrderOptions { SweepInterval = TimeSpan.FromSeconds(30), SettleWindow = TimeSpan.FromSeconds(60) });

    [Fact]
    public void The_first_pass_looks_at_every_live_order_and_later_ones_overlap_the_previous_by_an_interval_and_turn_through_the_slices()
    {
        var (passes, now) = (NewPasses(), Now);

        var first = passes.Next(now);
        Assert.Equal(new LiveOrderSweep(now.AddSeconds(-2), null, now.AddSeconds(-90), 0), first);
        passes.Completed(first);
        var second = passes.Next(now.AddSeconds(30));
        Assert.Equal(new LiveOrderSweep(now.AddSeconds(28), now.AddSeconds(-32), now.AddSeconds(-60), 1), second);
        passes.Completed(second);
        for (var pass = 2; pass < LiveOrderSweep.Slices; pass++)
        {
            passes.Completed(passes.Next(now.AddSeconds(30 * pass)));
        }

        Assert.Equal(0, passes.Next(now.AddSeconds(300)).Slice);
    }

    [Fact]
    public void A_pass_that_failed_is_tried_again_whole()
    {
        var (passes, now) = (NewPasses(), Now);
        var first = passes.Next(now);
        passes.Completed(first);

        var failed = passes.Next(now.AddSeconds(30));
        var retried = passes.Next(now.AddSeconds(60));

        Assert.Equal((failed.PlacedSince, failed.Slice), (retried.PlacedSince, retried.Slice));
        Assert.Equal(now.AddSeconds(58), retried.PlacedBefore);
    }

    [Fact]
    public async Task A_pass_after_the_first_looks_at_orders_placed_since_the_last_one_those_long_expired_and_one_slice_of_the_rest()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer("user-" + Guid.NewGuid().ToString("N")[..8]);
        var placed = await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 });
        var order = (await system.OrderStore.GetAsync(Guid.Parse(placed.GetProperty("order_id").GetString()!), default))!;
        var slice = order.OrderId.ToByteArray(bigEndian: true)[15] % LiveOrderSweep.Slices;
        var otherSlice = (slice + 1) % LiveOrderSweep.Slices;
        var placedBefore = order.CreatedAt + TimeSpan.FromSeconds(1);
        var later = order.CreatedAt + Microsecond;

        // The first pass: every live order placed before the cut-off.
        Assert.True(await SweptAsync(order, new LiveOrderSweep(placedBefore, null, order.ExpiresAt, otherSlice)));
        Assert.False(await SweptAsync(order, new LiveOrderSweep(order.CreatedAt, null, order.ExpiresAt, slice)));
        // Later passes: placed since the previous one ...
        Assert.True(await SweptAsync(order, new LiveOrderSweep(placedBefore, order.CreatedAt, order.ExpiresAt, otherSlice)));
        Assert.False(await SweptAsync(order, new LiveOrderSweep(placedBefore, later, order.ExpiresAt, otherSlice)));
        // ... or expired before the pass's bound ...
        Assert.True(await SweptAsync(order, new LiveOrderSweep(placedBefore, later, order.ExpiresAt + Microsecond, otherSlice)));
        // ... or in the pass's slice.
        Assert.True(await SweptAsync(order, new LiveOrderSweep(placedBefore, later, order.ExpiresAt, slice)));

        Assert.Equal(HttpStatusCode.Accepted, (await customer.DeleteAsync($"/orders/{order.OrderId}")).StatusCode);
        await SagaSystem.WaitForStatusAsync(customer, order.OrderId.ToString(), OrderStatuses.Cancelled);
        Assert.False(await SweptAsync(order, new LiveOrderSweep(placedBefore, null, order.ExpiresAt, slice)));
    }

    [Fact]
    public async Task With_a_sweep_interval_of_zero_the_sweeper_is_off_and_says_so()
    {
        var log = new RecordingLogger<SagaSweeper>();
        using var sweeper = new SagaSweeper(system.OrderStore, Sagas, TimeProvider.System, Options.Create(new OrderOptions { SweepInterval = TimeSpan.Zero }), log);

        await sweeper.StartAsync(TestContext.Current.CancellationToken);
        await sweeper.ExecuteTask!;

        Assert.Contains(log.Messages, m => m.Contains("SagaSweeper is off", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_pass_that_fails_is_logged_and_the_next_one_comes_all_the_same()
    {
        await using var unreachable = NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=nobody;Timeout=1");
        var clock = new FakeTimeProvider(Now);
        var log = new RecordingLogger<SagaSweeper>();
        using var sweeper = new SagaSweeper(new OrderStore(unreachable, new OutboxSignal(), clock), Sagas, clock,
            Options.Create(new OrderOptions { SweepInterval = TimeSpan.FromSeconds(30) }), log);

        await sweeper.StartAsync(TestContext.Current.CancellationToken);
        await Eventually.HoldsAsync(() => Task.FromResult(FailuresIn(log) == 1), "the first pass failing");
        clock.Advance(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => Task.FromResult(FailuresIn(log) == 2), "the next pass, failing too");

        Assert.False(sweeper.ExecuteTask!.IsCompleted);
        await sweeper.StopAsync(TestContext.Current.CancellationToken);
    }

    private OrderSagas Sagas => system.Orders.Services.GetRequiredService<OrderSagas>();

    private static int FailuresIn(RecordingLogger<SagaSweeper> log) =>
        log.Messages.Count(m => m.StartsWith("SagaSweeper failed", StringComparison.Ordinal));

    private async Task<bool> SweptAsync(Order order, LiveOrderSweep sweep)
    {
        // Other tests' orders share the database: page through all of them.
        Order? last = null;
        IReadOnlyList<Order> page;
        do
        {
            page = await system.OrderStore.ListLiveAsync(sweep, last, 100, default);
            if (page.Any(o => o.OrderId == order.OrderId))
            {
                return true;
            }

            last = page.Count > 0 ? page[^1] : null;
        }
        while (page.Count == 100);

        return false;
    }
}
