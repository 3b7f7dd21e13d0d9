using Microsoft.Extensions.Options;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Gateway.Idempotency;

/// <summary>Deletes expired idempotency keys (a late retry of an expired key is a new request anyway).</summary>
public sealed partial class ExpiredKeyCleaner(
    IdempotencyStore store, TimeProvider clock, IOptions<IdempotencyOptions> options, ILogger<ExpiredKeyCleaner> logger)
    : PeriodicPass(options.Value.CleanupInterval, clock, logger)
{
    protected override async Task RunPassAsync(CancellationToken cancellationToken)
    {
        var deleted = await store.DeleteExpiredAsync(cancellationToken);
        LogExpiredKeysDeleted(Logger, deleted);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted {Count} expired idempotency keys")]
    private static partial void LogExpiredKeysDeleted(ILogger logger, int count);
}
