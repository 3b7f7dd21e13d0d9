using System.Threading.Channels;
using Npgsql;
using NpgsqlTypes;

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
    private readonly Channel<Append> _appends = Channel.CreateUnbounded<Append>(new() { SingleReader = true });
    private readonly Task _writer;

    public PubSubLog(NpgsqlDataSource dataSource, DeliverySignal signal)
    {
        _dataSource = dataSource;
        _signal = signal;
        _writer = WriteAppendsAsync();
    }

    /// <summary>Returns once the message is durable in the log.</summary>
    public async Task AppendAsync(string pubsubName, string topic, CloudEventMessage message, CancellationToken cancellationToken)
    {
        var append = new Append(pubsubName, topic, message);
        ObjectDisposedException.ThrowIf(!_appends.Writer.TryWrite(append), this);
        await append.Written.Task.WaitAsync(cancellationToken);
    }

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
        _appends.Writer.TryComplete();
        await _writer;
    }

    private async Task WriteAppendsAsync()
    {
        await Task.Yield();
        var appends = new List<Append>(MessagesPerAppend);
        while (await _appends.Reader.WaitToReadAsync())
        {
            while (appends.Count < MessagesPerAppend && _appends.Reader.TryRead(out var append))
            {
                appends.Add(append);
            }

            await WriteAsync(appends);
            appends.Clear();
            _signal.Notify();
        }
    }

    /// <summary>A failed append fails each of its publishes (their publishers retry); one bad message is tried alone, so it fails only its own.</summary>
    private async Task WriteAsync(List<Append> appends)
    {
        try
        {
            await using var command = _dataSource.CreateCommand(AppendManySql);
            command.Parameters.Add(new() { Value = appends.Select(a => a.PubsubName).ToArray() });
            command.Parameters.Add(new() { Value = appends.Select(a => a.Topic).ToArray() });
            command.Parameters.Add(new() { Value = appends.Select(a => a.Message.Id).ToArray() });
            command.Parameters.Add(new() { Value = appends.Select(a => a.Message.PartitionKey).ToArray() });
            command.Parameters.Add(new() { Value = appends.Select(a => a.Message.CloudEventJson).ToArray(), NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Jsonb });
            await command.ExecuteNonQueryAsync();
            appends.ForEach(written => written.Written.TrySetResult());
        }
        catch (PostgresException exception) when (appends.Count > 1 && exception.SqlState[..2] is "22" or "23")
        {
            foreach (var append in appends)
            {
                await WriteAsync([append]);
            }
        }
        catch (Exception exception)
        {
            appends.ForEach(failed => failed.Written.TrySetException(exception));
        }
    }

    private sealed record Append(string PubsubName, string Topic, CloudEventMessage Message)
    {
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
