using System.Text.Json;
using Dapr.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using TicketSaga.Contracts;

namespace TicketSaga.Outbox;

/// <summary>
/// Drains a service's <c>outbox</c> table (Migrations/outbox_0001_table.sql; rows from <see cref="OutboxWriter"/>) into Dapr pub/sub: CloudEvent id = outbox row id, partition key = order id.
/// Each pass takes only the oldest unpublished row of each order (so an order's events leave in
/// order), locks them with SKIP LOCKED (so replicas share the work without publishing a row twice at
/// once), publishes them and marks only those the sidecar accepted. While the sidecar refuses, the
/// relay backs off and retries the same rows: nothing is lost or overtaken.
/// </summary>
public sealed partial class OutboxRelay(
    NpgsqlDataSource dataSource, DaprClient dapr, OutboxSignal signal, IOptions<OutboxOptions> options, ILogger<OutboxRelay> logger)
    : BackgroundService
{
    private int _consecutiveFailures;

    /// <summary>Passes in a row that could not publish everything they took (0 when healthy).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var (taken, failed) = await PublishBatchAsync(settings.BatchSize, stoppingToken);
                if (failed > 0)
                {
                    var failures = Interlocked.Increment(ref _consecutiveFailures);
                    var backoff = TimeSpan.FromMilliseconds(Math.Min(settings.MaxBackoff.TotalMilliseconds, 100 * Math.Pow(2, Math.Min(failures, 16))));
                    await Task.Delay(backoff, stoppingToken);
                    continue;
                }

                Volatile.Write(ref _consecutiveFailures, 0);
                if (taken > 0)
                {
                    continue;
                }

                await signal.WaitAsync(settings.PollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                Interlocked.Increment(ref _consecutiveFailures);
                LogOutboxUnreadable(logger, ex);
                await Task.Delay(settings.MaxBackoff, stoppingToken);
            }
        }
    }

    /// <summary>
    /// The head of each order only: a row waits while an earlier row of its order is unpublished, even
    /// one another replica holds (it is still unpublished). SKIP LOCKED: replicas take disjoint heads.
    /// The head is looked up per row in the (order_id, seq) index: as NOT EXISTS, the planner, trusting
    /// statistics from a quiet moment, compared every unpublished row with every other (5.5 s at 6,000).
    /// </summary>
    internal const string TakeHeadsSql = """
        SELECT o.id, o.order_id, o.topic, o.payload::text FROM outbox o
        WHERE o.published_at IS NULL
          AND o.seq = (SELECT min(e.seq) FROM outbox e WHERE e.order_id = o.order_id AND e.published_at IS NULL)
        ORDER BY o.seq
        LIMIT @batch
        FOR UPDATE SKIP LOCKED
        """;

    private async Task<(int Taken, int Failed)> PublishBatchAsync(int batchSize, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = new List<(Guid Id, Guid OrderId, string Topic, JsonElement Payload)>();
        await using (var take = new NpgsqlCommand(TakeHeadsSql, connection, transaction))
        {
            take.Parameters.AddWithValue("batch", batchSize);
            await using var reader = await take.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), JsonSerializer.Deserialize<JsonElement>(reader.GetString(3))));
            }
        }

        if (rows.Count == 0)
        {
            return (0, 0);
        }

        // Heads of different orders: publishing them concurrently cannot reorder any one order.
        var results = await Task.WhenAll(rows.Select(row => PublishAsync(row.Id, row.OrderId, row.Topic, row.Payload, cancellationToken)));
        var published = rows.Where((_, i) => results[i]).Select(row => row.Id).ToArray();
        if (published.Length > 0)
        {
            await using var mark = new NpgsqlCommand("UPDATE outbox SET published_at = now() WHERE id = ANY(@ids)", connection, transaction);
            mark.Parameters.AddWithValue("ids", published);
            await mark.ExecuteNonQueryAsync(cancellationToken);
        }

        // A crash before this commit publishes the rows again with the same CloudEvent id: consumers' inboxes drop the copy.
        await transaction.CommitAsync(cancellationToken);
        return (rows.Count, rows.Count - published.Length);
    }

    private async Task<bool> PublishAsync(Guid id, Guid orderId, string topic, JsonElement payload, CancellationToken cancellationToken)
    {
        try
        {
            await dapr.PublishEventAsync(Topics.PubSub, topic, payload, new Dictionary<string, string>
            {
                ["partitionKey"] = orderId.ToString(),
                ["cloudevent.id"] = id.ToString(),
            }, cancellationToken);
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (ConsecutiveFailures == 0)
            {
                LogPublishFailed(logger, ex, topic, orderId);
            }

            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The outbox could not be read; retrying")]
    private static partial void LogOutboxUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing {Topic} for order {OrderId} failed; the relay retries with back-off")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, string topic, Guid orderId);
}
