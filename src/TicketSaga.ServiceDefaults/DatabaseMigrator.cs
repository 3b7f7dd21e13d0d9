using System.Reflection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// Creates the database if missing and applies embedded <c>Migrations/*.sql</c> scripts, each once,
/// under an advisory lock so that replicas starting together do not race. Assemblies are applied in
/// the order given (a shared schema such as the outbox's before the service's own), each assembly's
/// scripts in name order; a script's file name is its version, so names must not repeat across them.
/// </summary>
public sealed partial class DatabaseMigrator(string connectionString, IReadOnlyList<Assembly> migrationsAssemblies, ILogger<DatabaseMigrator> logger)
{
    private const long MigrationLockKey = 0x7469636b6574; // "ticket"

    public DatabaseMigrator(string connectionString, Assembly migrationsAssembly, ILogger<DatabaseMigrator> logger)
        : this(connectionString, [migrationsAssembly], logger)
    {
    }

    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        await CreateDatabaseIfMissingAsync(cancellationToken);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await Execute(connection, "SELECT pg_advisory_lock(@key)", cancellationToken, ("key", MigrationLockKey));
        try
        {
            await Execute(connection,
                "CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
                cancellationToken);

            var applied = new HashSet<string>();
            await using (var read = new NpgsqlCommand("SELECT version FROM schema_migrations", connection))
            await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            foreach (var (version, sql) in LoadScripts().Where(script => !applied.Contains(script.Version)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await using (var migrate = new NpgsqlCommand(sql, connection, transaction))
                {
                    await migrate.ExecuteNonQueryAsync(cancellationToken);
                }

                await using (var record = new NpgsqlCommand("INSERT INTO schema_migrations (version) VALUES (@v)", connection, transaction))
                {
                    record.Parameters.AddWithValue("v", version);
                    await record.ExecuteNonQueryAsync(cancellationToken);
                }

                await transaction.CommitAsync(cancellationToken);
                LogMigrationApplied(logger, version, connection.Database);
            }
        }
        finally
        {
            await Execute(connection, "SELECT pg_advisory_unlock(@key)", CancellationToken.None, ("key", MigrationLockKey));
        }
    }

    private List<(string Version, string Sql)> LoadScripts()
    {
        var scripts = migrationsAssemblies.SelectMany(LoadScripts).ToList();
        // Versions are file names: the same name in two assemblies would silently skip one of them.
        return scripts.GroupBy(script => script.Version).FirstOrDefault(same => same.Count() > 1) is { } repeated
            ? throw new InvalidOperationException($"Two migrations are named {repeated.Key}; a migration's file name must be unique across its assemblies.")
            : scripts;
    }

    private static IEnumerable<(string Version, string Sql)> LoadScripts(Assembly assembly) =>
        assembly.GetManifestResourceNames()
            .Where(name => name.Contains(".Migrations.", StringComparison.Ordinal) && name.EndsWith(".sql", StringComparison.Ordinal))
            .Select(name =>
            {
                using var stream = assembly.GetManifestResourceStream(name)!;
                using var reader = new StreamReader(stream);
                var file = name[(name.IndexOf(".Migrations.", StringComparison.Ordinal) + ".Migrations.".Length)..];
                return (Version: Path.GetFileNameWithoutExtension(file), Sql: reader.ReadToEnd());
            })
            .OrderBy(script => script.Version, StringComparer.Ordinal);

    private async Task CreateDatabaseIfMissingAsync(CancellationToken cancellationToken)
    {
        var target = new NpgsqlConnectionStringBuilder(connectionString);
        var maintenance = new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres", Pooling = false };
        await using var connection = new NpgsqlConnection(maintenance.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("SELECT 1 FROM pg_database WHERE datname = @name", connection);
        exists.Parameters.AddWithValue("name", target.Database!);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }

        try
        {
            // Identifiers cannot be parameters; the name is quoted.
            await using var create = new NpgsqlCommand($"CREATE DATABASE \"{target.Database!.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
            LogDatabaseCreated(logger, target.Database);
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another replica created it first.
        }
    }

    private static async Task Execute(NpgsqlConnection connection, string sql, CancellationToken cancellationToken, params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Applied migration {Version} to {Database}")]
    private static partial void LogMigrationApplied(ILogger logger, string version, string database);

    [LoggerMessage(Level = LogLevel.Information, Message = "Created database {Database}")]
    private static partial void LogDatabaseCreated(ILogger logger, string database);
}
