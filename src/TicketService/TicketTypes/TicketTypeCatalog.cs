using System.Collections.Concurrent;
using Grpc.Core;
using Npgsql;

namespace TicketSaga.TicketService.TicketTypes;

public sealed record TicketTypeDefinition(
    Guid TicketId,
    Guid EventId,
    string Name,
    int Capacity,
    long PriceMinor,
    string Currency,
    int MaxPerUser,
    DateTimeOffset SaleStartsAt,
    DateTimeOffset SaleEndsAt,
    Guid? SeatPlanId,
    string Section)
{
    public bool IsOnSale(DateTimeOffset now) => now >= SaleStartsAt && now < SaleEndsAt;
}

public sealed record Availability(int Capacity, int Available, int Held, int Sold);

/// <summary>
/// Ticket types and their quota. A type never changes after creation, so reads on the hot reserve
/// path come from memory; only availability is read from the slots.
/// </summary>
public sealed class TicketTypeCatalog(NpgsqlDataSource dataSource)
{
    /// <summary>Enough slots to spread thousands of concurrent buyers, never more than the capacity.</summary>
    public const int MaxSlots = 32;

    private readonly ConcurrentDictionary<Guid, TicketTypeDefinition> _definitions = new();

    public async Task<TicketTypeDefinition> CreateAsync(TicketTypeDefinition definition, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // The ticket_id is the idempotency key of creation: a retry inserts nothing and is compared below.
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO ticket_types (ticket_id, event_id, name, capacity, price_minor, currency, max_per_user,
                                      sale_starts_at, sale_ends_at, seat_plan_id, section)
            VALUES (@ticket, @event, @name, @capacity, @price, @currency, @max, @starts, @ends, @plan, @section)
            ON CONFLICT (ticket_id) DO NOTHING
            """, connection, transaction);
        insert.Parameters.AddWithValue("ticket", definition.TicketId);
        insert.Parameters.AddWithValue("event", definition.EventId);
        insert.Parameters.AddWithValue("name", definition.Name);
        insert.Parameters.AddWithValue("capacity", definition.Capacity);
        insert.Parameters.AddWithValue("price", definition.PriceMinor);
        insert.Parameters.AddWithValue("currency", definition.Currency);
        insert.Parameters.AddWithValue("max", definition.MaxPerUser);
        insert.Parameters.AddWithValue("starts", definition.SaleStartsAt.UtcDateTime);
        insert.Parameters.AddWithValue("ends", definition.SaleEndsAt.UtcDateTime);
        insert.Parameters.AddWithValue("plan", definition.SeatPlanId.HasValue ? definition.SeatPlanId.Value : DBNull.Value);
        insert.Parameters.AddWithValue("section", definition.Section);
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            var existing = await GetAsync(definition.TicketId, cancellationToken);
            return existing == definition
                ? existing
                : throw new RpcException(new Status(StatusCode.AlreadyExists,
                    $"Ticket type {definition.TicketId} already exists with other settings."));
        }

        var slots = Math.Min(MaxSlots, definition.Capacity);
        var shares = Enumerable.Range(0, slots)
            .Select(slot => definition.Capacity / slots + (slot < definition.Capacity % slots ? 1 : 0))
            .ToArray();
        await using var createSlots = new NpgsqlCommand(
            """
            INSERT INTO ticket_quota_slots (ticket_id, slot, capacity, available)
            SELECT @ticket, share.slot - 1, share.capacity, share.capacity
            FROM unnest(@shares) WITH ORDINALITY AS share(capacity, slot)
            """, connection, transaction);
        createSlots.Parameters.AddWithValue("ticket", definition.TicketId);
        createSlots.Parameters.AddWithValue("shares", shares);
        await createSlots.ExecuteNonQueryAsync(cancellationToken);

        await transaction.CommitAsync(cancellationToken);
        _definitions[definition.TicketId] = definition;
        return definition;
    }

    /// <summary>The ticket type, or NotFound.</summary>
    public async ValueTask<TicketTypeDefinition> GetAsync(Guid ticketId, CancellationToken cancellationToken)
    {
        if (_definitions.TryGetValue(ticketId, out var cached))
        {
            return cached;
        }

        var found = await QueryAsync("WHERE ticket_id = @id", ("id", ticketId), cancellationToken);
        return found.Count == 1
            ? _definitions.GetOrAdd(ticketId, found[0])
            : throw new RpcException(new Status(StatusCode.NotFound, $"Ticket type {ticketId} does not exist."));
    }

    public Task<IReadOnlyList<TicketTypeDefinition>> ListAsync(Guid? eventId, CancellationToken cancellationToken) =>
        eventId is { } id
            ? QueryAsync("WHERE event_id = @id", ("id", id), cancellationToken)
            : QueryAsync("", null, cancellationToken);

    /// <summary>Sums the slots: a consistent snapshot of one ticket type's quota.</summary>
    public async Task<IReadOnlyDictionary<Guid, Availability>> GetAvailabilityAsync(
        IReadOnlyCollection<Guid> ticketIds, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT ticket_id, sum(capacity)::int, sum(available)::int, sum(held)::int, sum(sold)::int
            FROM ticket_quota_slots WHERE ticket_id = ANY(@ids) GROUP BY ticket_id
            """);
        command.Parameters.AddWithValue("ids", ticketIds.ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new Dictionary<Guid, Availability>();
        while (await reader.ReadAsync(cancellationToken))
        {
            result[reader.GetGuid(0)] = new Availability(reader.GetInt32(1), reader.GetInt32(2), reader.GetInt32(3), reader.GetInt32(4));
        }

        return result;
    }

    private async Task<IReadOnlyList<TicketTypeDefinition>> QueryAsync(
        string where, (string Name, object Value)? parameter, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT ticket_id, event_id, name, capacity, price_minor, currency, max_per_user,
                   sale_starts_at, sale_ends_at, seat_plan_id, section
            FROM ticket_types {where} ORDER BY event_id, created_at, ticket_id
            """);
        if (parameter is var (name, value))
        {
            command.Parameters.AddWithValue(name, value);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<TicketTypeDefinition>();
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new TicketTypeDefinition(
                reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt32(3), reader.GetInt64(4),
                reader.GetString(5), reader.GetInt32(6),
                reader.GetFieldValue<DateTimeOffset>(7), reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetGuid(9), reader.GetString(10)));
        }

        return result;
    }
}
