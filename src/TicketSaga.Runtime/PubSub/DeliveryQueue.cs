using Npgsql;
using NpgsqlTypes;

namespace TicketSaga.Runtime.PubSub;

/// <summary>A message at the head of its partition key, due for delivery to the app.</summary>
internal sealed record PendingDelivery(
    long Seq, string PubsubName, string Topic, string PartitionKey, int Attempts, IReadOnlyList<int> RetryDelaysMs, string CloudEventJson);

/// <summary>The SQL of one app's consumer group: hand-over from the log, heads per key, ack, retry, dead-letter.</summary>
internal sealed class DeliveryQueue(NpgsqlDataSource dataSource, string appId)
{
    /// <summary>Creates the consumer group's offset for a topic if new: from the oldest message, or only new ones.</summary>
    public async Task JoinAsync(string pubsubName, string topic, bool fromOldest, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            INSERT INTO pubsub_consumer_offsets (app_id, pubsub_name, topic, last_seq)
            SELECT @app, @pubsub, @topic,
                   CASE WHEN @oldest THEN 0 ELSE coalesce((SELECT max(seq) FROM pubsub_messages WHERE pubsub_name = @pubsub AND topic = @topic), 0) END
            ON CONFLICT (app_id, pubsub_name, topic) DO NOTHING
            """);
        command.Parameters.AddWithValue("app", appId);
        command.Parameters.AddWithValue("pubsub", pubsubName);
        command.Parameters.AddWithValue("topic", topic);
        command.Parameters.AddWithValue("oldest", fromOldest);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Moves a topic's messages past the app's offset into its pending set and the offset past them, in one
    /// statement: a message is pending for the app exactly once. The scan of the topic's index entries
    /// starts at the offset and stops at the topic's end, whatever the plan: with only <c>seq &gt; offset</c>
    /// the planner walked the primary key through every topic's messages since the offset (11 ms a poll
    /// at 22,000 messages); with <c>topic = @topic</c> beside the row comparison, PostgreSQL 15 starts at the
    /// topic's first entry, reading its whole history every poll (8–19 ms idle at 38,000). Here the row
    /// comparison gives the start and <c>topic &lt;= @topic</c> the end (together: this topic, past the offset).
    /// </summary>
    internal const string HandOverSql = """
        WITH room AS (SELECT greatest(0, @window - count(*)) AS n FROM pubsub_pending WHERE app_id = @app),
        taken AS (
            SELECT m.seq, m.partition_key
            FROM pubsub_messages m
            WHERE m.pubsub_name = @pubsub AND m.topic <= @topic
              AND (m.topic, m.seq) > (@topic,
                  (SELECT o.last_seq FROM pubsub_consumer_offsets o WHERE o.app_id = @app AND o.pubsub_name = @pubsub AND o.topic = @topic))
            ORDER BY m.pubsub_name, m.topic, m.seq
            LIMIT (SELECT n FROM room)),
        pending AS (
            INSERT INTO pubsub_pending (app_id, seq, pubsub_name, topic, partition_key)
            SELECT @app, seq, @pubsub, @topic, partition_key FROM taken
            ON CONFLICT (app_id, seq) DO NOTHING),
        moved AS (
            UPDATE pubsub_consumer_offsets SET last_seq = (SELECT max(seq) FROM taken)
            WHERE app_id = @app AND pubsub_name = @pubsub AND topic = @topic AND EXISTS (SELECT 1 FROM taken))
        SELECT count(*) = (SELECT n FROM room) FROM taken
        """;

    /// <summary>
    /// One round trip, one transaction: removes the messages the app acknowledged since the last poll,
    /// moves new messages of <paramref name="handOver"/> from the log into the app's pending set (at most
    /// <paramref name="window"/> pending at a time), then returns the first pending message of each
    /// partition key of <paramref name="topics"/> (only it may be delivered: order per key) that is due
    /// and not in flight, when the next not-yet-due head becomes due, and the handed-over topics that
    /// filled the window (they may have more in the log).
    /// </summary>
    public async Task<(List<PendingDelivery> Due, DateTimeOffset? NextDueAt, List<(string PubsubName, string Topic)> Filled)> PollAsync(
        IReadOnlyList<(string PubsubName, string Topic)> topics, IReadOnlyList<(string PubsubName, string Topic)> handOver,
        long[] acked, long[] inFlight, int limit, int window, CancellationToken cancellationToken)
    {
        await using var batch = dataSource.CreateBatch();
        // Acks and hand-overs are the runtime's own bookkeeping: if a crash loses the last of them, the
        // messages are delivered again (at-least-once allows it), so they need not wait for the WAL
        // flush. Publishes stay durable.
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT set_config('synchronous_commit', 'off', true)"));
        if (acked.Length > 0)
        {
            var ack = new NpgsqlBatchCommand("DELETE FROM pubsub_pending WHERE app_id = @app AND seq = ANY(@acked)");
            ack.Parameters.AddWithValue("app", appId);
            ack.Parameters.AddWithValue("acked", acked);
            batch.BatchCommands.Add(ack);
        }

        foreach (var (pubsubName, topic) in handOver)
        {
            var command = new NpgsqlBatchCommand(HandOverSql);
            command.Parameters.AddWithValue("app", appId);
            command.Parameters.AddWithValue("pubsub", pubsubName);
            command.Parameters.AddWithValue("topic", topic);
            command.Parameters.AddWithValue("window", window);
            batch.BatchCommands.Add(command);
        }

        var heads = new NpgsqlBatchCommand("""
            WITH heads AS (
                SELECT DISTINCT ON (p.pubsub_name, p.topic, p.partition_key)
                       p.seq, p.pubsub_name, p.topic, p.partition_key, p.attempts, p.retry_delays_ms, p.next_attempt_at
                FROM pubsub_pending p
                JOIN unnest(@pubsubs, @topics) AS s(pubsub_name, topic) ON s.pubsub_name = p.pubsub_name AND s.topic = p.topic
                WHERE p.app_id = @app
                ORDER BY p.pubsub_name, p.topic, p.partition_key, p.seq),
            ready AS (
                SELECT * FROM heads WHERE next_attempt_at <= now() AND seq <> ALL(@in_flight) ORDER BY seq LIMIT @limit)
            SELECT r.seq, r.pubsub_name, r.topic, r.partition_key, r.attempts, r.retry_delays_ms, m.cloud_event::text, NULL::timestamptz
            FROM ready r JOIN pubsub_messages m ON m.seq = r.seq
            UNION ALL
            SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, min(next_attempt_at) FROM heads WHERE next_attempt_at > now()
            """);
        heads.Parameters.AddWithValue("app", appId);
        heads.Parameters.AddWithValue("pubsubs", topics.Select(t => t.PubsubName).ToArray());
        heads.Parameters.AddWithValue("topics", topics.Select(t => t.Topic).ToArray());
        heads.Parameters.AddWithValue("in_flight", inFlight);
        heads.Parameters.AddWithValue("limit", limit);
        batch.BatchCommands.Add(heads);

        var due = new List<PendingDelivery>();
        var filled = new List<(string PubsubName, string Topic)>();
        DateTimeOffset? nextDueAt = null;
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            // Past set_config's row (the ack returns no rows): one row per hand-over, then the heads.
            foreach (var topic in handOver)
            {
                await reader.NextResultAsync(cancellationToken);
                await reader.ReadAsync(cancellationToken);
                if (reader.GetBoolean(0))
                {
                    filled.Add(topic);
                }
            }

            await reader.NextResultAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                if (reader.IsDBNull(0))
                {
                    nextDueAt = reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7);
                    continue;
                }

                due.Add(new PendingDelivery(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                    reader.GetInt32(4), reader.GetFieldValue<int[]>(5), reader.GetString(6)));
            }
        }

        return (due, nextDueAt, filled);
    }

    /// <summary>Removes acknowledged messages outside a poll (when delivery stops).</summary>
    public async Task AckAsync(long[] seqs, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("DELETE FROM pubsub_pending WHERE app_id = @app AND seq = ANY(@seqs)");
        command.Parameters.AddWithValue("app", appId);
        command.Parameters.AddWithValue("seqs", seqs);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task ScheduleRetryAsync(long seq, DateTimeOffset attemptedAt, TimeSpan delay, string error, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("""
            UPDATE pubsub_pending
            SET attempts = attempts + 1, next_attempt_at = now() + @delay, last_error = @error,
                first_attempt_at = coalesce(first_attempt_at, @attempted_at), last_attempt_at = @attempted_at,
                retry_delays_ms = retry_delays_ms || @delay_ms
            WHERE app_id = @app AND seq = @seq
            """);
        command.Parameters.AddWithValue("app", appId);
        command.Parameters.AddWithValue("seq", seq);
        command.Parameters.AddWithValue("delay", delay);
        command.Parameters.AddWithValue("delay_ms", (int)delay.TotalMilliseconds);
        command.Parameters.AddWithValue("error", error);
        command.Parameters.AddWithValue("attempted_at", attemptedAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Records the message in the audit and removes it from the pending set; with a dead-letter
    /// topic, publishes it there in the same transaction (same id, <c>topic</c> set to the dead-letter topic).
    /// </summary>
    public async Task DeadLetterAsync(PendingDelivery delivery, DateTimeOffset attemptedAt, string reason, string error, string? deadLetterTopic, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        string? cloudEvent;
        string? messageId;
        await using (var record = new NpgsqlCommand("""
            WITH gone AS (DELETE FROM pubsub_pending WHERE app_id = @app AND seq = @seq RETURNING *)
            INSERT INTO pubsub_dead_letters (id, app_id, pubsub_name, topic, seq, message_id, cloud_event, reason, last_error, attempts,
                                             retry_delays_ms, first_attempt_at, last_attempt_at, dead_letter_topic)
            SELECT @id, g.app_id, g.pubsub_name, g.topic, g.seq, m.message_id, m.cloud_event, @reason, @error, g.attempts + 1,
                   g.retry_delays_ms, coalesce(g.first_attempt_at, @attempted_at), @attempted_at, @dead_letter_topic
            FROM gone g JOIN pubsub_messages m ON m.seq = g.seq
            RETURNING jsonb_set(cloud_event, '{topic}', to_jsonb(coalesce(@dead_letter_topic, topic)))::text, message_id
            """, connection, transaction))
        {
            record.Parameters.AddWithValue("id", Guid.CreateVersion7());
            record.Parameters.AddWithValue("app", appId);
            record.Parameters.AddWithValue("seq", delivery.Seq);
            record.Parameters.AddWithValue("reason", reason);
            record.Parameters.AddWithValue("error", error);
            record.Parameters.AddWithValue("attempted_at", attemptedAt);
            record.Parameters.AddWithValue("dead_letter_topic", NpgsqlDbType.Text, (object?)deadLetterTopic ?? DBNull.Value);
            await using var reader = await record.ExecuteReaderAsync(cancellationToken);
            var found = await reader.ReadAsync(cancellationToken);
            cloudEvent = found ? reader.GetString(0) : null;
            messageId = found ? reader.GetString(1) : null;
        }

        if (cloudEvent is not null && deadLetterTopic is not null)
        {
            await PubSubLog.AppendAsync(connection, transaction, delivery.PubsubName, deadLetterTopic,
                new CloudEventMessage(messageId!, delivery.PartitionKey, cloudEvent), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }
}
