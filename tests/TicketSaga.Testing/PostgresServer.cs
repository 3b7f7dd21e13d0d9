using System.Collections.Concurrent;
using Npgsql;
using Testcontainers.PostgreSql;
using TicketSaga.Runtime.Postgres;
using Xunit;

namespace TicketSaga.Testing;

/// <summary>
/// One PostgreSQL server per test assembly (an xunit assembly fixture), from the first that works:
/// <c>TICKETSAGA_TEST_POSTGRES</c>, a Testcontainers container when a Docker engine answers, or a
/// throwaway local cluster. Test classes ask it for a database of their own; on a configured server
/// those databases are dropped when the assembly is done (thousands left behind keep autovacuum busy
/// and slowed this machine's later benchmarks several times over).
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    private PostgreSqlContainer? _container;
    private LocalPostgresCluster? _cluster;
    private readonly ConcurrentBag<string> _databases = [];

    public string ConnectionString { get; private set; } = "";

    public string Source { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var configured = Environment.GetEnvironmentVariable("TICKETSAGA_TEST_POSTGRES");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            ConnectionString = configured;
            Source = "TICKETSAGA_TEST_POSTGRES";
            return;
        }

        if (DockerMayAnswer())
        {
            try
            {
                _container = new PostgreSqlBuilder("postgres:17-alpine").WithCommand("-c", "max_connections=300").Build();
                await _container.StartAsync();
                ConnectionString = _container.GetConnectionString();
                Source = "Testcontainers";
                return;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                _container = null;
            }
        }

        var directory = Path.Combine(Path.GetTempPath(), "ticketsaga-test-pg-" + Guid.NewGuid().ToString("N")[..12]);
        _cluster = await LocalPostgresCluster.StartAsync(directory, ephemeral: true);
        ConnectionString = _cluster.ConnectionString;
        Source = "local cluster " + directory;
    }

    /// <summary>A unique database name, dropped with the others; for code under test that creates its database itself.</summary>
    public string NewDatabaseName(string prefix)
    {
        var name = $"{prefix.ToLowerInvariant()}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 33, 63)];
        _databases.Add(name);
        return name;
    }

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = NewDatabaseName(prefix);
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await create.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(ConnectionString) { Database = name }.ConnectionString;
    }

    public async ValueTask DisposeAsync()
    {
        if (_container is null && _cluster is null && !_databases.IsEmpty)
        {
            await DropDatabasesAsync();
        }

        if (_container is not null)
        {
            await _container.DisposeAsync();
        }

        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    private async Task DropDatabasesAsync()
    {
        NpgsqlConnection.ClearAllPools();
        // Each DROP DATABASE waits for an immediate checkpoint, which takes tens of seconds on a machine
        // busy with other test assemblies: no command timeout, and drops side by side so that concurrent
        // requests share checkpoints.
        await Parallel.ForEachAsync(_databases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (name, cancellationToken) =>
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync(cancellationToken);
            await PostgresDatabase.DropAsync(connection, name, cancellationToken);
        });
    }

    private static bool DockerMayAnswer() =>
        File.Exists("/var/run/docker.sock") || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST"));
}
