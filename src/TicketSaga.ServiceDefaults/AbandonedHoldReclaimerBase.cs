using Microsoft.Extensions.Logging;

namespace TicketSaga.ServiceDefaults;

/// <summary>The reclaimer shape ticket-service and venue-service share; every replica runs it.</summary>
public abstract partial class AbandonedHoldReclaimerBase(TimeSpan interval, TimeProvider clock, ILogger logger)
    : PeriodicPass(interval, clock, logger)
{
    /// <summary>One pass; returns how many holds it gave back.</summary>
    protected abstract Task<int> ReclaimAsync(CancellationToken cancellationToken);

    protected override async Task RunPassAsync(CancellationToken cancellationToken)
    {
        var reclaimed = await ReclaimAsync(cancellationToken);
        if (reclaimed > 0)
        {
            LogReclaimed(Logger, reclaimed);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Reclaimed {Count} abandoned holds")]
    private static partial void LogReclaimed(ILogger logger, int count);
}
