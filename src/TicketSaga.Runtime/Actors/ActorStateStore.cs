using System.Text.Json;
using Npgsql;

namespace TicketSaga.Runtime.Actors;

/// <summary>One operation of an actor state transaction, as the SDK sends it.</summary>
public sealed record ActorStateOperation(string Operation, string Key, string? Value, int? TtlInSeconds);

/// <summary>Actor state in PostgreSQL: values are stored as the JSON the SDK sent and returned unchanged.</summary>
public sealed class ActorStateStore(NpgsqlDataSource database)
{
    /// <summary>Parses <c>[{"operation":"upsert"|"delete","request":{"key":..,"value":..,"metadata":{"ttlInSeconds":..}}}]</c>.</summary>
    /// <exception cref="FormatException">The body is not such an array.</exception>
    public static IReadOnlyList<ActorStateOperation> ParseTransaction(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            var operations = new List<ActorStateOperation>();
            foreach (var item in document.RootElement.EnumerateArray())
            {
                var operation = item.GetProperty("operation").GetString()!.ToLowerInvariant();
                var request = item.GetProperty("request");
                var key = request.GetProperty("key").GetString()!;
                if (operation is not ("upsert" or "delete"))
                {
                    throw new FormatException($"Unknown actor state operation '{operation}' (expected upsert or delete).");
                }

                string? value = operation == "upsert" && request.TryGetProperty("value", out var v) ? v.GetRawText() : null;
                int? ttl = request.TryGetProperty("metadata", out var metadata) && metadata.TryGetProperty("ttlInSeconds", out var t)
                    ? int.Parse(t.ValueKind == JsonValueKind.String ? t.GetString()! : t.GetRawText(), System.Globalization.CultureInfo.InvariantCulture)
                    : null;
                operations.Add(new ActorStateOperation(operation, key, value ?? (operation == "upsert" ? "null" : null), ttl));
            }

            return operations;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            throw new FormatException("Actor state transaction must be a JSON array of {operation, request:{key, value}}.", ex);
        }
    }

    /// <summary>Applies all operations or none.</summary>
    public async Task ApplyAsync(ActorKey actor, IReadOnlyList<ActorStateOperation> operations, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var operation in operations)
        {
            await using var command = operation.Operation == "upsert"
                ? new NpgsqlCommand(
                    """
                    INSERT INTO actor_state (actor_type, actor_id, key, value, expires_at)
                    VALUES (@type, @id, @key, @value, now() + make_interval(secs => @ttl))
                    ON CONFLICT (actor_type, actor_id, key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
                    """, connection, transaction)
                : new NpgsqlCommand("DELETE FROM actor_state WHERE actor_type = @type AND actor_id = @id AND key = @key", connection, transaction);
            command.Parameters.AddWithValue("type", actor.Type);
            command.Parameters.AddWithValue("id", actor.Id);
            command.Parameters.AddWithValue("key", operation.Key);
            if (operation.Operation == "upsert")
            {
                command.Parameters.AddWithValue("value", operation.Value!);
                command.Parameters.Add(new NpgsqlParameter<double?>("ttl", operation.TtlInSeconds));
            }

            await command.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The stored JSON value and its expiry, or null when the key is missing or expired.</summary>
    public async Task<(string Value, DateTimeOffset? ExpiresAt)?> GetAsync(ActorKey actor, string key, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            SELECT value, expires_at FROM actor_state
            WHERE actor_type = @type AND actor_id = @id AND key = @key AND (expires_at IS NULL OR expires_at > now())
            """);
        command.Parameters.AddWithValue("type", actor.Type);
        command.Parameters.AddWithValue("id", actor.Id);
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return (reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetFieldValue<DateTimeOffset>(1));
    }
}
