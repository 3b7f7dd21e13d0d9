using Npgsql;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>Reads straight from the services' databases and the runtime's pub/sub log.</summary>
public static class Snapshots
{
    /// <summary>
    /// Every business row of order-service and payment-service as text (orders, their outbox, payments,
    /// money received and refunded, payment outbox): equal snapshots mean no effect happened in between.
    /// Inboxes are left out: they record deliveries, not effects.
    /// </summary>
    public static async Task<string> EffectsAsync(SystemUnderTest system) =>
        await AggregateAsync(system.OrdersDatabase, "orders", "outbox") + "\n" +
        await AggregateAsync(system.PaymentsDatabase, "payments", "payment_records", "refunds", "outbox");

    /// <summary>The messages of the runtime's log that concern these orders, in log order.</summary>
    public static async Task<List<LoggedMessage>> MessagesOfAsync(SystemUnderTest system, IEnumerable<string> orderIds)
    {
        await using var connection = new NpgsqlConnection(system.RuntimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT seq, topic, message_id, partition_key, (cloud_event->'data')::text FROM pubsub_messages
            WHERE cloud_event->'data'->>'orderId' = ANY(@orders) ORDER BY seq
            """, connection);
        command.Parameters.AddWithValue("orders", orderIds.ToArray());
        var messages = new List<LoggedMessage>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            messages.Add(new LoggedMessage(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
        }

        return messages;
    }

    /// <summary>True once every subscriber took every message of the log up to <paramref name="seq"/> and none waits for a retry.</summary>
    public static async Task<bool> DeliveredUpToAsync(SystemUnderTest system, long seq, IReadOnlyCollection<string> topics)
    {
        await using var connection = new NpgsqlConnection(system.RuntimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT NOT EXISTS (SELECT 1 FROM pubsub_pending WHERE seq <= @seq)
               AND NOT EXISTS (
                   SELECT 1 FROM pubsub_consumer_offsets o
                   WHERE o.topic = ANY(@topics)
                     AND o.last_seq < (SELECT max(m.seq) FROM pubsub_messages m WHERE m.topic = o.topic AND m.pubsub_name = o.pubsub_name AND m.seq <= @seq))
            """, connection);
        command.Parameters.AddWithValue("seq", seq);
        command.Parameters.AddWithValue("topics", topics.ToArray());
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Messages of <paramref name="topic"/> handed to <paramref name="appId"/>'s subscription and not yet acknowledged.</summary>
    public static async Task<long> WaitingForAsync(SystemUnderTest system, string appId, string topic)
    {
        await using var connection = new NpgsqlConnection(system.RuntimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pubsub_pending WHERE app_id = @app AND topic = @topic", connection);
        command.Parameters.AddWithValue("app", appId);
        command.Parameters.AddWithValue("topic", topic);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private static async Task<string> AggregateAsync(string connectionString, params string[] tables)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var parts = new List<string>();
        foreach (var table in tables)
        {
            // Table names are this file's constants, never input.
            await using var command = new NpgsqlCommand($"SELECT coalesce(string_agg(t::text, E'\\n' ORDER BY t::text), '') FROM {table} t", connection);
            parts.Add(table + ":\n" + (string)(await command.ExecuteScalarAsync())!);
        }

        return string.Join("\n", parts);
    }
}

public sealed record LoggedMessage(long Seq, string Topic, string MessageId, string PartitionKey, string DataJson);
