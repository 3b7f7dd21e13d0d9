using Microsoft.Extensions.Options;
using TicketSaga.OrderService.Orders;

namespace TicketSaga.OrderService.Saga;

/// <summary>
/// At start-up and every SweepInterval: every live order gets its saga back if it is missing (runtime
/// restarted, process died between the order's commit and the saga's start). A re-created saga whose
/// expires_at + grace has passed ends the order at once through its own timer.
/// </summary>
public sealed partial class SagaSweeper(OrderStore orders, OrderSagas sagas, IOptions<OrderOptions> options, ILogger<SagaSweeper> logger)
    : BackgroundService
{
    /// <summary>Younger orders are still being started by the request that created them.</summary>
    private static readonly TimeSpan StartingGrace = TimeSpan.FromSeconds(2);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.SweepInterval);
        do
        {
            try
            {
                foreach (var order in await orders.ListLiveAsync(StartingGrace, limit: 500, stoppingToken))
                {
                    await sagas.EnsureRunningAsync(order, stoppingToken);
                }
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
}
