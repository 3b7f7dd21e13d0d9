using Microsoft.Extensions.Options;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// At start-up and every SweepInterval: every CONFIRMED order with a refund recorded gets its
/// <see cref="OrderRefund"/> (again) — the process died before starting it, the runtime lost it, it
/// failed, or the refund came while the order was still PENDING and its saga confirmed it since.
/// </summary>
public sealed partial class RefundSweeper(OrderStore orders, OrderRefunds refunds, IOptions<OrderOptions> options, ILogger<RefundSweeper> logger)
    : BackgroundService
{
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
                foreach (var order in await orders.ListRefundOwedAsync(limit: 500, stoppingToken))
                {
                    await refunds.EnsureRunningAsync(order, stoppingToken);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                LogSweepFailed(logger, ex, options.Value.SweepInterval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sweep of refunded orders failed; next pass in {Interval}")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception, TimeSpan interval);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Orders:SweepInterval is zero: the refund sweeper is off")]
    private static partial void LogSweeperOff(ILogger logger);
}
