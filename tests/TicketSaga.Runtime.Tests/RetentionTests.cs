using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.Runtime.Tests;

/// <summary>What the runtime's retention deletes from its own tables, and what it must keep.</summary>
public sealed class RetentionTests(RuntimeFixture fixture) : IClassFixture<RuntimeFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Old_delivered_messages_old_dead_letters_and_expired_actor_state_go_while_what_is_owed_or_audited_stays()
    {
        var topic = "retention-" + Guid.NewGuid().ToString("N")[..8];
        var actor = Guid.NewGuid().ToString();
        var dataSource = fixture.Runtime.Services.GetRequiredService<NpgsqlDataSource>();
        await using (var seed = dataSource.CreateCommand(
            """
            INSERT INTO pubsub_messages (pubsub_name, topic, message_id, partition_key, cloud_event, published_at)
            SELECT 'pubsub', @topic, m, 'k', '{}', now() - (age || ' days')::interval
            FROM (VALUES ('delivered', 8), ('owed', 8), ('audited', 8), ('audit-expired', 40), ('recent', 1)) v(m, age);
            INSERT INTO pubsub_pending (app_id, seq, pubsub_name, topic, partition_key)
            SELECT 'retention-app', seq, 'pubsub', @topic, 'k' FROM pubsub_messages WHERE topic = @topic AND message_id = 'owed';
            INSERT INTO pubsub_dead_letters (id, app_id, pubsub_name, topic, seq, message_id, cloud_event, reason, last_error,
                                             attempts, retry_delays_ms, first_attempt_at, last_attempt_at, recorded_at)
            SELECT gen_random_uuid(), 'retention-app', 'pubsub', @topic, seq, message_id, '{}', 'DROP', 'test', 1, '{}', now(), now(),
                   CASE message_id WHEN 'audited' THEN now() - interval '8 days' ELSE now() - interval '40 days' END
            FROM pubsub_messages WHERE topic = @topic AND message_id IN ('audited', 'audit-expired');
            INSERT INTO actor_state (actor_type, actor_id, key, value, expires_at) VALUES
                ('RetentionActor', @actor, 'expired', '1', now() - interval '1 second'),
                ('RetentionActor', @actor, 'live', '1', now() + interval '1 hour'),
                ('RetentionActor', @actor, 'forever', '1', NULL);
            """))
        {
            seed.Parameters.AddWithValue("topic", topic);
            seed.Parameters.AddWithValue("actor", actor);
            await seed.ExecuteNonQueryAsync(Cancel);
        }

        await fixture.Runtime.Services.GetRequiredService<RetentionSweeper>().SweepAsync(Cancel);
        // The runtime's own sweeper may be in a pass too: rows it has locked are skipped here and deleted by it.
        await TestSupport.EventuallyAsync(async () =>
            (await ListAsync(dataSource, "SELECT message_id FROM pubsub_messages WHERE topic = @p", topic)).Count == 3
            && (await ListAsync(dataSource, "SELECT message_id FROM pubsub_dead_letters WHERE topic = @p", topic)).Count == 1
            && (await ListAsync(dataSource, "SELECT key FROM actor_state WHERE actor_id = @p", actor)).Count == 2, "the sweeps over");

        Assert.Equal(["audited", "owed", "recent"], await ListAsync(dataSource, "SELECT message_id FROM pubsub_messages WHERE topic = @p ORDER BY 1", topic));
        Assert.Equal(["audited"], await ListAsync(dataSource, "SELECT message_id FROM pubsub_dead_letters WHERE topic = @p", topic));
        Assert.Equal(["forever", "live"], await ListAsync(dataSource, "SELECT key FROM actor_state WHERE actor_id = @p ORDER BY 1", actor));
    }

    private static async Task<List<string>> ListAsync(NpgsqlDataSource dataSource, string sql, string parameter)
    {
        await using var command = dataSource.CreateCommand(sql);
        command.Parameters.AddWithValue("p", parameter);
        var values = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        while (await reader.ReadAsync(Cancel))
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
