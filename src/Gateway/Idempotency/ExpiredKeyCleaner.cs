using Microsoft.Extensions.Options;

namespace TicketSaga.Gateway.Idempotency;

/// <summary>Deletes expired idempotency keys (a late retry of an expired key is a new request anyway).</summary>
public sealed class ExpiredKeyCleaner(IdempotencyStore store, IOptions<IdempotencySettings> options, ILogger<ExpiredKeyCleaner> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.CleanupInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var deleted = await store.DeleteExpiredAsync(stoppingToken);
                logger.LogDebug("Deleted {Count} expired idempotency keys", deleted);
            }
            catch (Npgsql.NpgsqlException ex)
            {
                logger.LogWarning(ex, "Deleting expired idempotency keys failed; retrying at the next interval");
            }
        }
    }
}
