using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// The reclaimer shape ticket-service and venue-service share: a pass at start-up, then one every
/// interval. Every replica runs it; a pass shares the work with SKIP LOCKED.
/// </summary>
public abstract partial class AbandonedHoldReclaimerBase(TimeSpan interval, TimeProvider clock, ILogger logger) : BackgroundService
{
    protected TimeProvider Clock => clock;

    /// <summary>One pass; returns how many holds it gave back.</summary>
    protected abstract Task<int> ReclaimAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, clock);
        do
        {
            try
            {
                var reclaimed = await ReclaimAsync(stoppingToken);
                if (reclaimed > 0)
                {
                    LogReclaimed(logger, reclaimed);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The next pass retries; a database hiccup must not stop reclaiming for good.
                LogReclaimFailed(logger, ex, interval);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reclaimed {Count} abandoned holds")]
    private static partial void LogReclaimed(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reclaim pass failed; next pass in {Interval}")]
    private static partial void LogReclaimFailed(ILogger logger, Exception exception, TimeSpan interval);
}
