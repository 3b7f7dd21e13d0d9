using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace TicketSaga.ServiceDefaults.Retention;

/// <summary>
/// Deletes, every <see cref="RetentionOptions.Interval"/>, the rows each <see cref="RetentionRule"/> says
/// have been kept long enough (outbox, inboxes, logs), in batches, so that tables stay as large as
/// their retention and not as large as the service's history.
/// </summary>
public sealed partial class RetentionSweeper(
    NpgsqlDataSource dataSource, IEnumerable<RetentionRule> rules, IOptions<RetentionOptions> options, ILogger<RetentionSweeper> logger)
    : BackgroundService
{
    /// <summary>One pass over every rule.</summary>
    /// <returns>The rows deleted, by rule name.</returns>
    public async Task<IReadOnlyDictionary<string, long>> SweepAsync(CancellationToken cancellationToken)
    {
        var deleted = new Dictionary<string, long>();
        foreach (var rule in rules)
        {
            deleted[rule.Name] = await SweepAsync(rule, cancellationToken);
        }

        return deleted;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval);
        do
        {
            try
            {
                foreach (var (rule, count) in await SweepAsync(stoppingToken))
                {
                    if (count > 0)
                    {
                        LogRowsDeleted(logger, count, rule);
                    }
                }
            }
            catch (NpgsqlException ex)
            {
                LogSweepFailed(logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    private async Task<long> SweepAsync(RetentionRule rule, CancellationToken cancellationToken)
    {
        var period = options.Value.Periods.GetValueOrDefault(rule.Name, rule.DefaultPeriod);
        var condition = rule.Condition is null ? "" : $"AND ({rule.Condition})";
        // By ctid in batches: each statement is short, and rows written meanwhile are never waited for.
        var sql = $"""
            DELETE FROM {rule.Table} WHERE ctid = ANY(ARRAY(
                SELECT t.ctid FROM {rule.Table} t
                WHERE t.{rule.TimeColumn} < now() - @period {condition}
                LIMIT @batch FOR UPDATE SKIP LOCKED))
            """;
        long total = 0;
        int deleted;
        do
        {
            await using var command = dataSource.CreateCommand(sql);
            command.Parameters.AddWithValue("period", period);
            command.Parameters.AddWithValue("batch", options.Value.BatchSize);
            deleted = await command.ExecuteNonQueryAsync(cancellationToken);
            total += deleted;
        }
        while (deleted == options.Value.BatchSize);

        return total;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention: deleted {Count} rows ({Rule})")]
    private static partial void LogRowsDeleted(ILogger logger, long count, string rule);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retention sweep failed; trying again at the next interval")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
