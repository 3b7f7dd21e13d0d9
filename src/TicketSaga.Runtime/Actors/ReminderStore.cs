using System.Text;
using System.Text.Json;
using Npgsql;

namespace TicketSaga.Runtime.Actors;

/// <summary>A persisted reminder; the strings are kept exactly as registered, to be sent back on every call.</summary>
public sealed record ActorReminder(
    ActorKey Actor, string Name, Guid RegistrationId, string DueTime, string Period, string? Data, string? Ttl,
    DateTimeOffset NextFireAt, int? RepetitionsLeft, DateTimeOffset? ExpiresAt, int FailedAttempts)
{
    /// <summary>The body of <c>PUT /actors/{type}/{id}/method/remind/{name}</c>: <c>{"data","dueTime","period"}</c>.</summary>
    public string CallbackBody => Json(includeTtl: false);

    /// <summary>The answer of <c>GET …/reminders/{name}</c>.</summary>
    public string RegistrationJson => Json(includeTtl: true);

    private string Json(bool includeTtl)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (Data is not null)
            {
                writer.WritePropertyName("data");
                writer.WriteRawValue(Data);
            }

            writer.WriteString("dueTime", DueTime);
            writer.WriteString("period", Period);
            if (includeTtl && Ttl is not null)
            {
                writer.WriteString("ttl", Ttl);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}

/// <summary>Reminders in PostgreSQL, so that they survive a runtime restart.</summary>
public sealed class ReminderStore(NpgsqlDataSource database)
{
    private const string Columns =
        "actor_type, actor_id, name, registration_id, due_time, period, data, ttl, next_fire_at, repetitions_left, expires_at, failed_attempts";

    /// <summary>Creates or replaces the reminder (a new registration id makes in-flight firings of the old one harmless).</summary>
    public async Task<ActorReminder> RegisterAsync(
        ActorKey actor, string name, string dueTime, string period, string? data, string? ttl, ActorSchedule schedule, CancellationToken cancellationToken)
    {
        var reminder = new ActorReminder(actor, name, Guid.CreateVersion7(), dueTime, period, data, ttl, schedule.FirstFireAt, schedule.Repetitions, schedule.ExpiresAt, 0);
        await using var command = database.CreateCommand(
            $"""
            INSERT INTO actor_reminders ({Columns})
            VALUES (@type, @id, @name, @registration, @due, @period, @data, @ttl, @next, @repetitions, @expires, 0)
            ON CONFLICT (actor_type, actor_id, name) DO UPDATE SET
                registration_id = excluded.registration_id, due_time = excluded.due_time, period = excluded.period,
                data = excluded.data, ttl = excluded.ttl, next_fire_at = excluded.next_fire_at,
                repetitions_left = excluded.repetitions_left, expires_at = excluded.expires_at,
                failed_attempts = 0, registered_at = now()
            """);
        AddKey(command, actor, name);
        command.Parameters.AddWithValue("registration", reminder.RegistrationId);
        command.Parameters.AddWithValue("due", dueTime);
        command.Parameters.AddWithValue("period", period);
        command.Parameters.Add(new NpgsqlParameter<string?>("data", data));
        command.Parameters.Add(new NpgsqlParameter<string?>("ttl", ttl));
        command.Parameters.AddWithValue("next", schedule.FirstFireAt);
        command.Parameters.Add(new NpgsqlParameter<int?>("repetitions", schedule.Repetitions));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset?>("expires", schedule.ExpiresAt));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return reminder;
    }

    public async Task<bool> UnregisterAsync(ActorKey actor, string name, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("DELETE FROM actor_reminders WHERE actor_type = @type AND actor_id = @id AND name = @name");
        AddKey(command, actor, name);
        return await command.ExecuteNonQueryAsync(cancellationToken) > 0;
    }

    public async Task<ActorReminder?> GetAsync(ActorKey actor, string name, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand($"SELECT {Columns} FROM actor_reminders WHERE actor_type = @type AND actor_id = @id AND name = @name");
        AddKey(command, actor, name);
        return (await ReadAsync(command, cancellationToken)).SingleOrDefault();
    }

    /// <summary>Reminders of the given (placed) actor types whose time has come, oldest first.</summary>
    public async Task<IReadOnlyList<ActorReminder>> DueAsync(string[] actorTypes, int limit, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            $"SELECT {Columns} FROM actor_reminders WHERE actor_type = ANY(@types) AND next_fire_at <= now() ORDER BY next_fire_at LIMIT @limit");
        command.Parameters.AddWithValue("types", actorTypes);
        command.Parameters.AddWithValue("limit", limit);
        return await ReadAsync(command, cancellationToken);
    }

    /// <summary>When the earliest reminder of the given actor types is due, if any.</summary>
    public async Task<DateTimeOffset?> NextFireAtAsync(string[] actorTypes, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("SELECT min(next_fire_at) FROM actor_reminders WHERE actor_type = ANY(@types)");
        command.Parameters.AddWithValue("types", actorTypes);
        return await command.ExecuteScalarAsync(cancellationToken) is DateTime next ? new DateTimeOffset(next, TimeSpan.Zero) : null;
    }

    /// <summary>After a successful call: schedules the next firing, or deletes a reminder that is done.</summary>
    public async Task CompleteAsync(ActorReminder reminder, DateTimeOffset? nextFireAt, int? repetitionsLeft, CancellationToken cancellationToken)
    {
        // Matching the registration id: a reminder re-registered or removed during the call is left as it now is.
        await using var command = database.CreateCommand(nextFireAt is null
            ? "DELETE FROM actor_reminders WHERE actor_type = @type AND actor_id = @id AND name = @name AND registration_id = @registration"
            : """
              UPDATE actor_reminders SET next_fire_at = @next, repetitions_left = @repetitions, failed_attempts = 0
              WHERE actor_type = @type AND actor_id = @id AND name = @name AND registration_id = @registration
              """);
        AddKey(command, reminder.Actor, reminder.Name);
        command.Parameters.AddWithValue("registration", reminder.RegistrationId);
        if (nextFireAt is not null)
        {
            command.Parameters.AddWithValue("next", nextFireAt.Value);
            command.Parameters.Add(new NpgsqlParameter<int?>("repetitions", repetitionsLeft));
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>After a failed call: the reminder stays and is tried again at <paramref name="retryAt"/>.</summary>
    public async Task RetryLaterAsync(ActorReminder reminder, DateTimeOffset retryAt, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(
            """
            UPDATE actor_reminders SET next_fire_at = @next, failed_attempts = failed_attempts + 1
            WHERE actor_type = @type AND actor_id = @id AND name = @name AND registration_id = @registration
            """);
        AddKey(command, reminder.Actor, reminder.Name);
        command.Parameters.AddWithValue("registration", reminder.RegistrationId);
        command.Parameters.AddWithValue("next", retryAt);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddKey(NpgsqlCommand command, ActorKey actor, string name)
    {
        command.Parameters.AddWithValue("type", actor.Type);
        command.Parameters.AddWithValue("id", actor.Id);
        command.Parameters.AddWithValue("name", name);
    }

    private static async Task<IReadOnlyList<ActorReminder>> ReadAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var reminders = new List<ActorReminder>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            reminders.Add(new ActorReminder(
                new ActorKey(reader.GetString(0), reader.GetString(1)),
                reader.GetString(2),
                reader.GetGuid(3),
                reader.GetString(4),
                reader.GetString(5),
                reader.IsDBNull(6) ? null : reader.GetString(6),
                reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.GetFieldValue<DateTimeOffset>(8),
                reader.IsDBNull(9) ? null : reader.GetInt32(9),
                reader.IsDBNull(10) ? null : reader.GetFieldValue<DateTimeOffset>(10),
                reader.GetInt32(11)));
        }

        return reminders;
    }
}
