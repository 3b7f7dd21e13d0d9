using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TicketSaga.Contracts;

namespace TicketSaga.Outbox;

/// <summary>Adds an event to the outbox inside the caller's transaction, so it is published if and only if the change commits.</summary>
public static class OutboxWriter
{
    public static async Task AddAsync<T>(NpgsqlTransaction transaction, Guid orderId, string topic, T payload, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            "INSERT INTO outbox (id, order_id, topic, payload) VALUES (@id, @order, @topic, @payload)", transaction.Connection, transaction);
        insert.Parameters.AddWithValue("id", Guid.CreateVersion7());
        insert.Parameters.AddWithValue("order", orderId);
        insert.Parameters.AddWithValue("topic", topic);
        insert.Parameters.AddWithValue("payload", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(payload, EventJson.Options));
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }
}
