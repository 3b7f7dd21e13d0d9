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
    NpgsqlDataSource dataSource, IEnumerable<RetentionRule> rules, TimeProvider clock, IOptions<RetentionOptions> options,
    ILogger<RetentionSweeper> logger)
    : PeriodicPass(options.Value.Interval, clock, logger)
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

    protected override async Task RunPassAsync(CancellationToken cancellationToken)
    {
        foreach (var (rule, count) in await SweepAsync(cancellationToken))
        {
            if (count > 0)
            {
                LogRowsDeleted(Logger, count, rule);
            }
        }
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
}
