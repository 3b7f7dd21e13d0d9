using Npgsql;
using NpgsqlTypes;

namespace TicketSaga.Runtime.PubSub;

/// <summary>Appends published messages to the durable log shared by every sidecar of the runtime.</summary>
public sealed class PubSubLog(NpgsqlDataSource dataSource, DeliverySignal signal)
{
    // The per-topic advisory lock makes sequence numbers of one topic commit in order, so a consumer
    // offset never moves past a message that a slower transaction has not committed yet.
    private const string AppendSql = """
        WITH topic_lock AS (SELECT pg_advisory_xact_lock(hashtextextended(@pubsub || '/' || @topic, 0)))
        INSERT INTO pubsub_messages (pubsub_name, topic, message_id, partition_key, cloud_event)
        SELECT @pubsub, @topic, @id, @key, @cloud_event FROM topic_lock
        RETURNING seq
        """;

    public async Task<long> AppendAsync(string pubsubName, string topic, CloudEventMessage message, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(AppendSql);
        AddParameters(command, pubsubName, topic, message);
        var seq = (long)(await command.ExecuteScalarAsync(cancellationToken))!;
        signal.Notify();
        return seq;
    }

    /// <summary>Appends within the caller's transaction (dead-lettering publishes to the dead-letter topic atomically).</summary>
    internal static async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string pubsubName, string topic, CloudEventMessage message, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(AppendSql, connection, transaction);
        AddParameters(command, pubsubName, topic, message);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddParameters(NpgsqlCommand command, string pubsubName, string topic, CloudEventMessage message)
    {
        command.Parameters.AddWithValue("pubsub", pubsubName);
        command.Parameters.AddWithValue("topic", topic);
        command.Parameters.AddWithValue("id", message.Id);
        command.Parameters.AddWithValue("key", message.PartitionKey);
        command.Parameters.AddWithValue("cloud_event", NpgsqlDbType.Jsonb, message.CloudEventJson);
    }
}
