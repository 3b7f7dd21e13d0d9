using Microsoft.Extensions.Options;
using TicketSaga.OrderService.Orders;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// A safety net, not how orders end: the saga (a durable workflow) is the source of truth for that.
/// The order commits in order-service's database and its saga starts in the runtime's, so a process
/// that dies between the two (or a runtime that is down at that moment) leaves an order without a
/// saga; a saga may also fail half way (an upgrade that renamed its activities). At start-up every
/// live order gets its saga if it has none or a failed one; then every SweepInterval, the orders
/// placed since the previous pass (and an interval before it), those still live a whole interval past
/// their deadline, and one slice in <see cref="LiveOrderSweep.Slices"/> of the others, so each is
/// looked at again within that many passes. Looking at every live order every pass cost a workflow
/// read per order, a steady load while a flash sale's holds wait. A saga started late whose
/// expires_at + grace has passed ends the order at once through its own timer.
/// </summary>
public sealed class SagaSweeper(OrderStore orders, OrderSagas sagas, TimeProvider clock, IOptions<OrderOptions> options, ILogger<SagaSweeper> logger)
    : PeriodicPass(options.Value.SweepInterval, clock, logger)
{
    /// <summary>Younger orders are still being started by the request that created them.</summary>
    private static readonly TimeSpan StartingGrace = TimeSpan.FromSeconds(2);

    private const int PageSize = 500;

    private readonly Passes _passes = new(options.Value);

    protected override async Task RunPassAsync(CancellationToken cancellationToken)
    {
        var sweep = _passes.Next(Clock.GetUtcNow());
        await SweepAsync(sweep, cancellationToken);
        _passes.Completed(sweep);
    }

    /// <summary>Which live orders each pass looks at. Only a pass that went through moves on: a failed one is tried again whole.</summary>
    public sealed class Passes(OrderOptions options)
    {
        private DateTimeOffset? _sweptUpTo;
        private int _completed;

        public LiveOrderSweep Next(DateTimeOffset now) =>
            new(PlacedBefore: now - StartingGrace,
                // An interval before the last cut-off: created_at is read before the holds are taken, so under
                // load an order commits seconds after it, possibly after the pass that covered it.
                PlacedSince: _sweptUpTo - options.SweepInterval,
                ExpiredBefore: now - options.SettleWindow - options.SweepInterval,
                Slice: _completed % LiveOrderSweep.Slices);

        public void Completed(LiveOrderSweep sweep)
        {
            _sweptUpTo = sweep.PlacedBefore;
            _completed++;
        }
    }

    private async Task SweepAsync(LiveOrderSweep sweep, CancellationToken cancellationToken)
    {
        // Page after page: no live order waits for a later pass because there were many.
        IReadOnlyList<Order> page;
        Order? last = null;
        do
        {
            page = await orders.ListLiveAsync(sweep, last, PageSize, cancellationToken);
            foreach (var order in page)
            {
                await sagas.EnsureRunningAsync(order, cancellationToken);
                last = order;
            }
        }
        while (page.Count == PageSize);
    }
}
