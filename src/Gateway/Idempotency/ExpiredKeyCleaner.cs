using Microsoft.Extensions.Options;

namespace TicketSaga.Gateway.Idempotency;

/// <summary>Deletes expired idempotency keys (a late retry of an expired key is a new request anyway).</summary>
public sealed partial class ExpiredKeyCleaner(IdempotencyStore store, IOptions<IdempotencyOptions> options, ILogger<ExpiredKeyCleaner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CleanupInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var deleted = await store.DeleteExpiredAsync(stoppingToken);
                LogExpiredKeysDeleted(logger, deleted);
            }
            catch (Npgsql.NpgsqlException ex)
            {
                LogCleanupFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted {Count} expired idempotency keys")]
    private static partial void LogExpiredKeysDeleted(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deleting expired idempotency keys failed; retrying at the next interval")]
    private static partial void LogCleanupFailed(ILogger logger, Exception exception);
}
