using Grpc.Core;
using Npgsql;

namespace TicketSaga.TicketService.TicketTypes;

public sealed record EventDescription(Guid EventId, string Name, string Venue, DateTimeOffset StartsAt);

/// <summary>Events' names, venues and dates: what the storefront lists beside the ticket types.</summary>
public sealed class EventCatalog(NpgsqlDataSource dataSource)
{
    /// <summary>Sets an event's details once; the same details again are answered, others refused.</summary>
    public async Task<EventDescription> DescribeAsync(EventDescription description, CancellationToken cancellationToken)
    {
        await using var insert = dataSource.CreateCommand(
            """
            INSERT INTO events (event_id, name, venue, starts_at) VALUES (@event, @name, @venue, @starts)
            ON CONFLICT (event_id) DO NOTHING
            """);
        insert.Parameters.AddWithValue("event", description.EventId);
        insert.Parameters.AddWithValue("name", description.Name);
        insert.Parameters.AddWithValue("venue", description.Venue);
        insert.Parameters.AddWithValue("starts", description.StartsAt.UtcDateTime);
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 1)
        {
            return description;
        }

        var existing = (await ListAsync(description.EventId, cancellationToken)).Single();
        return existing == description
            ? existing
            : throw new RpcException(new Status(StatusCode.AlreadyExists, $"Event {description.EventId} is already described otherwise."));
    }

    public async Task<IReadOnlyList<EventDescription>> ListAsync(Guid? eventId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT event_id, name, venue, starts_at FROM events WHERE @event IS NULL OR event_id = @event ORDER BY starts_at, event_id");
        command.Parameters.Add(new NpgsqlParameter<Guid?>("event", NpgsqlTypes.NpgsqlDbType.Uuid) { TypedValue = eventId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var result = new List<EventDescription>();
        while (await reader.ReadAsync(cancellationToken))
        {
            result.Add(new EventDescription(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3)));
        }

        return result;
    }
}
