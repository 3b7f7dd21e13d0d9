using Npgsql;
using NpgsqlTypes;
using TicketSaga.Runtime.Postgres;

namespace TicketSaga.Runtime.PubSub;

/// <summary>
/// Appends published messages to the durable log shared by every sidecar of the runtime. The messages
/// published while one append is under way go together in the next (a group commit): one round trip,
/// one commit and one turn of the topics' locks for many publishes.
/// </summary>
public sealed class PubSubLog : IAsyncDisposable
{
    /// <summary>At most this many messages go in one append.</summary>
    private const int MessagesPerAppend = 256;

    // The per-topic advisory lock makes sequence numbers of one topic commit in order, so a consumer
    // offset never moves past a message that a slower transaction has not committed yet.
    private const string AppendSql = """
        WITH topic_lock AS (SELECT pg_advisory_xact_lock(hashtextextended(@pubsub || '/' || @topic, 0)))
        INSERT INTO pubsub_messages (pubsub_name, topic, message_id, partition_key, cloud_event)
        SELECT @pubsub, @topic, @id, @key, @cloud_event FROM topic_lock
        """;

    // The same for many messages: every topic's lock first (in one order, so that two runtimes never
    // deadlock), then the rows in the order they were published.
    private const string AppendManySql = """
        WITH published AS (
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[]) WITH ORDINALITY
                AS m(pubsub_name, topic, message_id, partition_key, cloud_event, n)),
            topic_locks AS (
                SELECT pg_advisory_xact_lock(hashtextextended(t.name, 0))
                FROM (SELECT DISTINCT pubsub_name || '/' || topic AS name FROM published ORDER BY 1) t)
        INSERT INTO pubsub_messages (pubsub_name, topic, message_id, partition_key, cloud_event)
        SELECT pubsub_name, topic, message_id, partition_key, cloud_event FROM published
        WHERE (SELECT count(*) FROM topic_locks) >= 0
        ORDER BY n
        """;

    private readonly NpgsqlDataSource _dataSource;
    private readonly DeliverySignal _signal;
    private readonly GroupCommit<Append> _appends;

    public PubSubLog(NpgsqlDataSource dataSource, DeliverySignal signal)
    {
        _dataSource = dataSource;
        _signal = signal;
        _appends = new GroupCommit<Append>(MessagesPerAppend, (appends, _) => WriteAsync(appends));
    }

    /// <summary>Returns once the message is durable in the log.</summary>
    public Task AppendAsync(string pubsubName, string topic, CloudEventMessage message, CancellationToken cancellationToken) =>
        _appends.AddAsync(new Append(pubsubName, topic, message), cancellationToken);

    /// <summary>Appends within the caller's transaction (dead-lettering publishes to the dead-letter topic atomically).</summary>
    internal static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string pubsubName, string topic, CloudEventMessage message, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(AppendSql, connection, transaction);
        command.Parameters.AddWithValue("pubsub", pubsubName);
        command.Parameters.AddWithValue("topic", topic);
        command.Parameters.AddWithValue("id", message.Id);
        command.Parameters.AddWithValue("key", message.PartitionKey);
        command.Parameters.AddWithValue("cloud_event", NpgsqlDbType.Jsonb, message.CloudEventJson);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Takes no more publishes; those already taken are written first.</summary>
    public async ValueTask DisposeAsync()
    {
        _appends.Complete();
        await _appends.Writing;
    }

    /// <summary>A failed append fails each of its publishes (their publishers retry); one bad message is tried alone, so it fails only its own.</summary>
    private async Task WriteAsync(IReadOnlyList<GroupCommit<Append>.Pending> appends)
    {
        try
        {
            await WriteManyAsync(appends.Select(append => append.Item).ToList());
        }
        catch (PostgresException exception) when (appends.Count > 1 && exception.SqlState[..2] is "22" or "23")
        {
            foreach (var append in appends)
            {
                try
                {
                    await WriteManyAsync([append.Item]);
                }
                catch (Exception alone)
                {
                    append.Written.TrySetException(alone);
                }
            }
        }

        _signal.Notify(appends.Select(append => (append.Item.PubsubName, append.Item.Topic)).Distinct());
    }

    private async Task WriteManyAsync(List<Append> appends)
    {
        await using var command = _dataSource.CreateCommand(AppendManySql);
        command.Parameters.Add(new() { Value = appends.Select(a => a.PubsubName).ToArray() });
        command.Parameters.Add(new() { Value = appends.Select(a => a.Topic).ToArray() });
        command.Parameters.Add(new() { Value = appends.Select(a => a.Message.Id).ToArray() });
        command.Parameters.Add(new() { Value = appends.Select(a => a.Message.PartitionKey).ToArray() });
        command.Parameters.Add(new() { Value = appends.Select(a => a.Message.CloudEventJson).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
        await command.ExecuteNonQueryAsync();
    }

    private sealed record Append(string PubsubName, string Topic, CloudEventMessage Message);
}
