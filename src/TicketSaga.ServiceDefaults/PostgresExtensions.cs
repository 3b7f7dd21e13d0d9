using System.Reflection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TicketSaga.ServiceDefaults;

public static class PostgresExtensions
{
    /// <summary>
    /// Registers the service's own database: <c>ConnectionStrings:{database}</c> when set, else
    /// <c>ConnectionStrings:Postgres</c> with the database name replaced. The database is created if
    /// missing and the embedded <c>Migrations/*.sql</c> of the assemblies, in the order given (shared
    /// schemas first, then the service's own), run before the service starts.
    /// </summary>
    public static IHostApplicationBuilder AddPostgres(
        this IHostApplicationBuilder builder, string database, params Assembly[] migrationsAssemblies)
    {
        var connectionString = ResolveConnectionString(builder.Configuration, database);
        builder.Services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        builder.Services.AddSingleton(sp => new DatabaseMigrator(
            connectionString, migrationsAssemblies, sp.GetRequiredService<ILogger<DatabaseMigrator>>()));
        builder.Services.AddHostedService<MigrationHostedService>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<PostgresHealthCheck>();
        builder.Services.AddHealthChecks().AddCheck<PostgresHealthCheck>("postgres");
        return builder;
    }

    public static string ResolveConnectionString(IConfiguration configuration, string database)
    {
        var own = configuration.GetConnectionString(database);
        if (!string.IsNullOrWhiteSpace(own))
        {
            return own;
        }

        var shared = configuration.GetConnectionString("Postgres")
            ?? throw new InvalidOperationException(
                $"No PostgreSQL connection string: set ConnectionStrings__{database} or ConnectionStrings__Postgres.");
        return new NpgsqlConnectionStringBuilder(shared) { Database = database }.ConnectionString;
    }

    private sealed class MigrationHostedService(DatabaseMigrator migrator) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => migrator.MigrateAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    /// <summary>
    /// A result younger than <see cref="Reuse"/> answers every probe: the gateway's /readyz is on its public
    /// port, unauthenticated and not rate limited, so a flood of it costs the database one query a second.
    /// </summary>
    private sealed class PostgresHealthCheck(NpgsqlDataSource dataSource, TimeProvider clock) : IHealthCheck
    {
        private static readonly TimeSpan Reuse = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan QueryTimeout = TimeSpan.FromSeconds(5);
        private readonly Lock _gate = new();
        private Task<HealthCheckResult>? _latest;
        private long _latestStartedAt;

        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            lock (_gate)
            {
                if (_latest is null || clock.GetElapsedTime(_latestStartedAt) >= Reuse)
                {
                    _latestStartedAt = clock.GetTimestamp();
                    _latest = Task.Run(QueryAsync);
                }

                return _latest.WaitAsync(cancellationToken);
            }
        }

        // Shared by every probe of the next second, so bound by its own timeout rather than one caller's token.
        private async Task<HealthCheckResult> QueryAsync()
        {
            try
            {
                using var timeout = new CancellationTokenSource(QueryTimeout);
                await using var command = dataSource.CreateCommand("SELECT 1");
                await command.ExecuteScalarAsync(timeout.Token);
                return HealthCheckResult.Healthy();
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL is unreachable", ex);
            }
        }
    }
}
