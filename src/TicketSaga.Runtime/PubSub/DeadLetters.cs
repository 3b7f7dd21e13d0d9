using Npgsql;

namespace TicketSaga.Runtime.PubSub;

/// <summary>
/// An audited message an app did not acknowledge: <see cref="DeadLetterReasons"/> says why.
/// <see cref="RetryDelaysMs"/> are the back-off delays applied between attempts.
/// </summary>
public sealed record DeadLetter(
    Guid Id,
    string AppId,
    string PubsubName,
    string Topic,
    string MessageId,
    string CloudEventJson,
    string Reason,
    string LastError,
    int Attempts,
    IReadOnlyList<int> RetryDelaysMs,
    DateTimeOffset FirstAttemptAt,
    DateTimeOffset LastAttemptAt,
    string? DeadLetterTopic,
    DateTimeOffset RecordedAt,
    DateTimeOffset? ReplayedAt);

public static class DeadLetterReasons
{
    /// <summary>Every attempt the retry policy allowed failed (non-2xx, RETRY, unknown status, timeout).</summary>
    public const string RetriesExhausted = "retries exhausted";

    /// <summary>The subscription's route answered 404: a wiring error that no retry can fix.</summary>
    public const string RouteNotFound = "route not found";

    /// <summary>The app answered <c>{"status":"DROP"}</c> (its <c>reason</c>, if any, is the last error): never retried.</summary>
    public const string DroppedByApp = "dropped by app";

    /// <summary>
    /// The CloudEvent was past its <c>expiration</c> (publish metadata <c>ttlInSeconds</c>) when its turn came: as daprd,
    /// never delivered, and sent on to the dead-letter topic if the subscription has one.
    /// </summary>
    public const string Expired = "expired";
}

/// <summary>Lists and replays the dead-letter audit. Usable from any process that reaches the runtime's database.</summary>
public sealed class DeadLetters(NpgsqlDataSource dataSource, DeliverySignal? signal = null)
{
    private const string Columns = """
        id, app_id, pubsub_name, topic, message_id, cloud_event::text, reason, last_error, attempts, retry_delays_ms,
        first_attempt_at, last_attempt_at, dead_letter_topic, recorded_at, replayed_at
        """;

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(string? appId = null, string? topic = null, bool includeReplayed = true, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"""
            SELECT {Columns}
            FROM pubsub_dead_letters
            WHERE (@app::text IS NULL OR app_id = @app) AND (@topic::text IS NULL OR topic = @topic) AND (@replayed OR replayed_at IS NULL)
            ORDER BY recorded_at, id
            """);
        command.Parameters.AddWithValue("app", (object?)appId ?? DBNull.Value);
        command.Parameters.AddWithValue("topic", (object?)topic ?? DBNull.Value);
        command.Parameters.AddWithValue("replayed", includeReplayed);
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>One record, replayed or not; null if there is none with that id.</summary>
    public async Task<DeadLetter?> FindAsync(Guid id, CancellationToken cancellationToken = default)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM pubsub_dead_letters WHERE id = @id");
        command.Parameters.AddWithValue("id", id);
        return (await ReadAsync(command, cancellationToken)).SingleOrDefault();
    }

    private static async Task<IReadOnlyList<DeadLetter>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<DeadLetter>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new DeadLetter(
                reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                reader.GetString(6), reader.GetString(7), reader.GetInt32(8), reader.GetFieldValue<int[]>(9),
                reader.GetFieldValue<DateTimeOffset>(10), reader.GetFieldValue<DateTimeOffset>(11),
                reader.IsDBNull(12) ? null : reader.GetString(12), reader.GetFieldValue<DateTimeOffset>(13),
                reader.IsDBNull(14) ? null : reader.GetFieldValue<DateTimeOffset>(14)));
        }

        return list;
    }

    /// <summary>
    /// Delivers the message again to the app's current subscription of its topic (with a fresh
    /// retry budget) and marks the record replayed. False if unknown or already replayed.
    /// </summary>
    public async Task<bool> ReplayAsync(Guid id, CancellationToken cancellationToken = default)
    {
        // Marking and re-queueing in one statement: a record is replayed once even if two operators click.
        await using var command = dataSource.CreateCommand("""
            WITH replayed AS (
                UPDATE pubsub_dead_letters SET replayed_at = now()
                WHERE id = @id AND replayed_at IS NULL
                RETURNING app_id, seq, pubsub_name, topic)
            INSERT INTO pubsub_pending (app_id, seq, pubsub_name, topic, partition_key)
            SELECT r.app_id, r.seq, r.pubsub_name, r.topic, m.partition_key
            FROM replayed r JOIN pubsub_messages m ON m.seq = r.seq
            ON CONFLICT (app_id, seq) DO NOTHING
            """);
        command.Parameters.AddWithValue("id", id);
        var replayed = await command.ExecuteNonQueryAsync(cancellationToken) > 0;
        signal?.Notify();
        return replayed;
    }
}
