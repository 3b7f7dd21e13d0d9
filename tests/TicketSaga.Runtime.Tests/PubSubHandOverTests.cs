using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Runtime.Tests;

/// <summary>What a consumer group's poll reads of the shared log: its topics' new messages, not everyone's, nor their history.</summary>
public sealed class PubSubHandOverTests(RuntimeFixture fixture) : IClassFixture<RuntimeFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("force_custom_plan")]
    [InlineData("force_generic_plan")]
    public async Task A_topic_gone_quiet_reads_neither_its_own_history_nor_the_messages_published_since_on_other_topics(string planCacheMode)
    {
        var dataSource = fixture.Runtime.Services.GetRequiredService<NpgsqlDataSource>();
        var suffix = Guid.NewGuid().ToString("N")[..8];
        // The busy topic sorts after the quiet one in the log's index, so a scan that runs past the quiet
        // topic's end reads it.
        var (busy, quiet, app) = ("rush-" + suffix, "quiet-" + suffix, "quiet-app-" + suffix);
        await using (var seed = dataSource.CreateCommand("""
            INSERT INTO pubsub_messages (pubsub_name, topic, message_id, partition_key, cloud_event)
            SELECT 'pubsub', @quiet, gen_random_uuid()::text, 'k' || (n % 50), '{}' FROM generate_series(1, 2000) n;
            INSERT INTO pubsub_consumer_offsets (app_id, pubsub_name, topic, last_seq)
            SELECT @app, 'pubsub', @quiet, max(seq) FROM pubsub_messages WHERE topic = @quiet;
            INSERT INTO pubsub_messages (pubsub_name, topic, message_id, partition_key, cloud_event)
            SELECT 'pubsub', @busy, gen_random_uuid()::text, 'k' || (n % 50), '{}' FROM generate_series(1, 8000) n;
            ANALYZE pubsub_messages;
            """))
        {
            seed.Parameters.AddWithValue("busy", busy);
            seed.Parameters.AddWithValue("quiet", quiet);
            seed.Parameters.AddWithValue("app", app);
            await seed.ExecuteNonQueryAsync(Cancel);
        }

        await using var connection = await dataSource.OpenConnectionAsync(Cancel);
        await using var transaction = await connection.BeginTransactionAsync(Cancel);
        await using (var mode = new NpgsqlCommand($"SET LOCAL plan_cache_mode = {planCacheMode}", connection, transaction))
        {
            await mode.ExecuteNonQueryAsync(Cancel);
        }

        await using var explain = new NpgsqlCommand("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + DeliveryQueue.HandOverSql, connection, transaction);
        explain.Parameters.AddWithValue("app", app);
        explain.Parameters.AddWithValue("pubsub", "pubsub");
        explain.Parameters.AddWithValue("topic", quiet);
        explain.Parameters.AddWithValue("window", 256);
        using var plan = JsonDocument.Parse((string)(await explain.ExecuteScalarAsync(Cancel))!);

        var logScans = Nodes(plan.RootElement[0].GetProperty("Plan"))
            .Where(n => n.TryGetProperty("Relation Name", out var r) && r.GetString() == "pubsub_messages").ToList();
        Assert.NotEmpty(logScans);
        Assert.All(logScans, scan => Assert.Equal(0, RowsRead(scan)));
        // The index's way down to the offset, not the 2,000 entries before it (about 20 pages).
        Assert.All(logScans, scan => Assert.InRange(BlocksRead(scan), 1, 6));
    }

    private static long RowsRead(JsonElement node) =>
        node.GetProperty("Actual Rows").GetInt64()
        + (node.TryGetProperty("Rows Removed by Filter", out var removed) ? removed.GetInt64() : 0);

    private static long BlocksRead(JsonElement node) =>
        node.GetProperty("Shared Hit Blocks").GetInt64() + node.GetProperty("Shared Read Blocks").GetInt64();

    private static IEnumerable<JsonElement> Nodes(JsonElement node) =>
        node.TryGetProperty("Plans", out var children)
            ? children.EnumerateArray().SelectMany(Nodes).Prepend(node)
            : [node];
}
