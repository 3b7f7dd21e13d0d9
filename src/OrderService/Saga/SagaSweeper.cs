using Microsoft.Extensions.Options;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// A safety net, not how orders end: the saga (a durable workflow) is the source of truth for that.
/// At start-up and every SweepInterval, every live order, however many, gets its saga if it has none:
/// the order commits in order-service's database and its saga starts in the runtime's, so a process
/// that dies between the two (or a runtime that is down at that moment) leaves an order without a
/// saga. A saga started late whose expires_at + grace has passed ends the order at once through its
/// own timer.
/// </summary>
public sealed partial class SagaSweeper(OrderStore orders, OrderSagas sagas, IOptions<OrderOptions> options, ILogger<SagaSweeper> logger)
    : BackgroundService
{
    /// <summary>Younger orders are still being started by the request that created them.</summary>
    private static readonly TimeSpan StartingGrace = TimeSpan.FromSeconds(2);

    private const int PageSize = 500;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (options.Value.SweepInterval == TimeSpan.Zero)
        {
            LogSweeperOff(logger);
            return;
        }

        using var timer = new PeriodicTimer(options.Value.SweepInterval);
        do
        {
            try
            {
                // Page after page: no live order waits for a later pass because there were many.
                IReadOnlyList<Order> page;
                Order? last = null;
                do
                {
                    page = await orders.ListLiveAsync(StartingGrace, last, PageSize, stoppingToken);
                    foreach (var order in page)
                    {
                        await sagas.EnsureRunningAsync(order, stoppingToken);
                        last = order;
                    }
                }
                while (page.Count == PageSize);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogSweepFailed(logger, ex, options.Value.SweepInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep of live orders failed; next pass in {Interval}")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orders:SweepInterval is zero: the saga sweeper is off; sagas missing after a crash start with their order's next signal")]
    private static partial void LogSweeperOff(ILogger logger);
}
