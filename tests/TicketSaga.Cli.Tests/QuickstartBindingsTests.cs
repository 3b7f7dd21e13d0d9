using System.Globalization;
using Npgsql;
using TicketSaga.Testing;

namespace TicketSaga.Cli.Tests;

/// <summary>
/// The official Dapr bindings quickstart (dapr/quickstarts bindings/csharp, in samples/dapr-quickstarts), its apps
/// unchanged, run with `ticketsaga run -f` on its own dapr.yaml: every 10 s the <c>cron</c> input binding (bindings.cron,
/// <c>@every 10s</c>) POSTs to the app's <c>/cron</c>, and the app inserts the three orders of orders.json through the
/// <c>sqldb</c> output binding (bindings.postgres, operation exec) through the SDK's gRPC InvokeBinding.
/// </summary>
public sealed class QuickstartBindingsTests(PostgresServer postgres)
{
    private static readonly string Folder = Path.Combine(Repository.Root, "samples", "dapr-quickstarts");

    private const string AppId = "batch-sdk";

    [Fact]
    public async Task The_cron_binding_triggers_the_batch_app_which_writes_the_orders_through_the_postgres_binding()
    {
        var orders = await postgres.CreateDatabaseAsync("quickstart_orders");
        await using (var connection = new NpgsqlConnection(orders))
        {
            await connection.OpenAsync(TestContext.Current.CancellationToken);
            // bindings/db/orders.sql, as the quickstart's docker-compose database runs it.
            await using var create = new NpgsqlCommand("create table orders ( orderid int, customer text, price float )", connection);
            await create.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
        }

        var target = new NpgsqlConnectionStringBuilder(orders);
        var url = $"user={target.Username} password={target.Password} host={target.Host} port={target.Port} dbname={target.Database} pool_min_conns=1 pool_max_conns=10";
        await using var run = SampleRun.Start(postgres, Folder, "bindings/csharp/sdk/dapr.yaml",
            new Dictionary<string, string> { ["QUICKSTART_ORDERS_DB"] = url }, noBuild: false);

        await run.WaitForAsync($"== APP - {AppId} == Finished processing batch");

        Assert.Contains($"== APP - {AppId} == insert into orders (orderid, customer, price) values (1, 'John Smith', 100.32);", run.Output);
        var rows = await RowsAsync(orders);
        Assert.Equal(["1 John Smith 100.32", "2 Jane Bond 15.4", "3 Tony James 35.56"], rows.Take(3));
    }

    private static async Task<List<string>> RowsAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        // A batch that has begun may be followed by more (every 10 s): the first three rows are the first batch.
        await using var command = new NpgsqlCommand("select orderid, customer, price from orders order by ctid", connection);
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        var rows = new List<string>();
        while (await reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            rows.Add(string.Create(CultureInfo.InvariantCulture, $"{reader.GetInt32(0)} {reader.GetString(1)} {reader.GetDouble(2)}"));
        }

        return rows;
    }
}
