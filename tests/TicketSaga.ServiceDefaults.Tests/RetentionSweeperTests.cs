using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using TicketSaga.ServiceDefaults.Retention;
using TicketSaga.Testing;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class RetentionSweeperTests(PostgresServer postgres)
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Deletes_in_batches_only_rows_older_than_their_period_that_match_the_condition()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync("retention"));
        await ExecuteAsync(dataSource, """
            CREATE TABLE messages (id int PRIMARY KEY, handled_at timestamptz, owed boolean NOT NULL);
            INSERT INTO messages SELECT i, now() - interval '2 hours', false FROM generate_series(1, 7) i;  -- old: deleted
            INSERT INTO messages SELECT i, now() - interval '2 hours', true FROM generate_series(8, 10) i;  -- old but owed: kept
            INSERT INTO messages SELECT i, now() - interval '10 minutes', false FROM generate_series(11, 12) i; -- young: kept
            INSERT INTO messages VALUES (13, NULL, false);                                                   -- no time yet: kept
            """);
        var rule = new RetentionRule("messages", "messages", "handled_at", TimeSpan.FromHours(1), "NOT t.owed");
        var sweeper = Sweeper(dataSource, rule, new RetentionOptions { BatchSize = 2 });

        Assert.Equal(7, (await sweeper.SweepAsync(Cancellation))["messages"]);
        Assert.Equal([8, 9, 10, 11, 12, 13], await IdsAsync(dataSource));
        Assert.Equal(0, (await sweeper.SweepAsync(Cancellation))["messages"]);
    }

    [Fact]
    public async Task A_configured_period_replaces_the_rules_default()
    {
        await using var dataSource = NpgsqlDataSource.Create(await postgres.CreateDatabaseAsync("retention"));
        await ExecuteAsync(dataSource, """
            CREATE TABLE inbox (id int PRIMARY KEY, received_at timestamptz NOT NULL);
            INSERT INTO inbox VALUES (1, now() - interval '3 minutes'), (2, now() - interval '30 seconds');
            """);
        var rule = new RetentionRule("inbox", "inbox", "received_at", TimeSpan.FromDays(7));

        Assert.Equal(0, (await Sweeper(dataSource, rule, new RetentionOptions()).SweepAsync(Cancellation))["inbox"]);
        var shortened = new RetentionOptions { Periods = { ["inbox"] = TimeSpan.FromMinutes(1) } };
        Assert.Equal(1, (await Sweeper(dataSource, rule, shortened).SweepAsync(Cancellation))["inbox"]);
        Assert.Equal([2], await IdsAsync(dataSource, "inbox"));
    }

    private static RetentionSweeper Sweeper(NpgsqlDataSource dataSource, RetentionRule rule, RetentionOptions options) =>
        new(dataSource, [rule], TimeProvider.System, Options.Create(options), NullLogger<RetentionSweeper>.Instance);

    private static async Task ExecuteAsync(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        await command.ExecuteNonQueryAsync(Cancellation);
    }

    private static async Task<List<int>> IdsAsync(NpgsqlDataSource dataSource, string table = "messages")
    {
        await using var command = dataSource.CreateCommand($"SELECT id FROM {table} ORDER BY id");
        var ids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync(Cancellation);
        while (await reader.ReadAsync(Cancellation))
        {
            ids.Add(reader.GetInt32(0));
        }

        return ids;
    }
}
