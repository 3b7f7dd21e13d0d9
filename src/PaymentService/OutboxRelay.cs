using System.Text.Json;
using Dapr.Client;
using Npgsql;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>Wakes the relay when a transaction wrote outbox rows (it also polls, for other replicas' rows).</summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        if (_signal.CurrentCount == 0)
        {
            try
            {
                _signal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled.
            }
        }
    }

    public Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}

/// <summary>
/// Publishes outbox rows through the sidecar: partitionKey = order id, cloudevent.id = the row's id
/// (so a republished row is recognised by the subscriber's inbox). Only the oldest unpublished row of
/// each order is taken, so events of one order go out in order; rows are locked with SKIP LOCKED so
/// replicas share the work. While the sidecar is down the rows wait, and are retried with back-off.
/// </summary>
public sealed class OutboxRelay(NpgsqlDataSource dataSource, DaprClient dapr, OutboxSignal signal, ILogger<OutboxRelay> logger) : BackgroundService
{
    private const int BatchSize = 64;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxBackOff = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var backOff = TimeSpan.Zero;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (await PublishBatchAsync(stoppingToken) == 0)
                {
                    await signal.WaitAsync(Poll, stoppingToken);
                }

                backOff = TimeSpan.Zero;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                backOff = backOff == TimeSpan.Zero ? TimeSpan.FromMilliseconds(200) : TimeSpan.FromTicks(Math.Min(backOff.Ticks * 2, MaxBackOff.Ticks));
                logger.LogWarning("Outbox relay waits {Delay} ms (sidecar or database unavailable): {Error}", backOff.TotalMilliseconds, ex.Message);
                await Task.Delay(backOff, stoppingToken);
            }
        }
    }

    private async Task<int> PublishBatchAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = new List<(long Seq, Guid Id, Guid OrderId, string Topic, string Payload)>();
        // Heads only: a row waits while an older row of its order is unpublished (order per order).
        await using (var select = new NpgsqlCommand(
            """
            SELECT o.seq, o.id, o.order_id, o.topic, o.payload::text FROM outbox o
            WHERE o.published_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.order_id = o.order_id AND e.published_at IS NULL AND e.seq < o.seq)
            ORDER BY o.seq
            LIMIT @batch
            FOR UPDATE SKIP LOCKED
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("batch", BatchSize);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add((reader.GetInt64(0), reader.GetGuid(1), reader.GetGuid(2), reader.GetString(3), reader.GetString(4)));
            }
        }

        var published = new List<long>();
        try
        {
            foreach (var row in rows)
            {
                using var payload = JsonDocument.Parse(row.Payload);
                await dapr.PublishEventAsync(Topics.PubSub, row.Topic, payload.RootElement, new Dictionary<string, string>
                {
                    ["partitionKey"] = row.OrderId.ToString(),
                    ["cloudevent.id"] = row.Id.ToString(),
                }, cancellationToken);
                published.Add(row.Seq);
            }
        }
        finally
        {
            // What went out is marked even when a later publish failed, so it is not sent again.
            if (published.Count > 0)
            {
                await using var mark = new NpgsqlCommand("UPDATE outbox SET published_at = now() WHERE seq = ANY(@seqs)", connection, transaction);
                mark.Parameters.AddWithValue("seqs", published.ToArray());
                await mark.ExecuteNonQueryAsync(CancellationToken.None);
            }

            await transaction.CommitAsync(CancellationToken.None);
        }

        return published.Count;
    }
}
