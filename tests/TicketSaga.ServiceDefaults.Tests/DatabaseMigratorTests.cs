using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class DatabaseMigratorTests(PostgresServer postgres)
{
    [Fact]
    public async Task Creates_the_database_and_applies_every_script_once_even_when_replicas_start_together()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(postgres.ConnectionString)
        {
            Database = postgres.NewDatabaseName("migrator"),
        }.ConnectionString;
        var migrator = new DatabaseMigrator(connectionString, typeof(DatabaseMigratorTests).Assembly, NullLogger<DatabaseMigrator>.Instance);

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() => migrator.MigrateAsync(TestContext.Current.CancellationToken))));
        await migrator.MigrateAsync(TestContext.Current.CancellationToken);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(TestContext.Current.CancellationToken);
        await using var versions = new NpgsqlCommand("SELECT string_agg(version, ',' ORDER BY version) FROM schema_migrations", connection);
        Assert.Equal("0001_widgets,0002_widget_color", await versions.ExecuteScalarAsync(TestContext.Current.CancellationToken));
        await using var insert = new NpgsqlCommand("INSERT INTO widgets (id, name) VALUES (1, 'a') RETURNING color", connection);
        Assert.Equal("blue", await insert.ExecuteScalarAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Service_database_name_replaces_the_shared_connection_strings_database()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["ConnectionStrings:Postgres"] = "Host=db;Database=postgres;Username=u" })
            .Build();

        var resolved = new NpgsqlConnectionStringBuilder(PostgresExtensions.ResolveConnectionString(configuration, "tickets"));

        Assert.Equal("tickets", resolved.Database);
        Assert.Equal("db", resolved.Host);
    }
}
