using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using TicketSaga.Runtime.Actors;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.PubSub;
using TicketSaga.ServiceDefaults;

using TicketSaga.Runtime.Workflow;

namespace TicketSaga.Runtime.Hosting;

/// <summary>
/// The embedded Dapr-compatible runtime: one process, one sidecar per app (like one daprd per app),
/// and the runtime-wide parts every sidecar shares (the durable pub/sub log, actor placement,
/// reminders), all kept in PostgreSQL.
/// </summary>
public sealed class EmbeddedRuntime : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly List<Sidecar> _sidecars = [];
    private readonly Lock _gate = new();

    private EmbeddedRuntime(IHost host, RuntimeOptions options)
    {
        _host = host;
        Options = options;
    }

    public RuntimeOptions Options { get; }

    /// <summary>Runtime-wide services, shared by every sidecar.</summary>
    public IServiceProvider Services => _host.Services;

    public IReadOnlyList<Sidecar> Sidecars
    {
        get
        {
            lock (_gate)
            {
                return [.. _sidecars];
            }
        }
    }

    public static async Task<EmbeddedRuntime> StartAsync(
        RuntimeOptions options, ILoggerFactory loggerFactory, CancellationToken cancellationToken = default)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(options.PostgresConnectionString) { Database = options.Database }.ConnectionString;
        await new DatabaseMigrator(connectionString, typeof(EmbeddedRuntime).Assembly, loggerFactory.CreateLogger<DatabaseMigrator>())
            .MigrateAsync(cancellationToken);

        // The runtime runs a few statements very often: prepared once per connection, not parsed each time;
        // and it leaves no session state behind (its settings are per transaction), so a pooled
        // connection needs no reset.
        // Bounded (with the apps' pools, well below max_connections): a peak waits for a connection instead of being refused one.
        connectionString = new NpgsqlConnectionStringBuilder(connectionString) { MaxAutoPrepare = 64, NoResetOnClose = true, MaxPoolSize = 50 }.ConnectionString;

        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Services.AddSingleton(loggerFactory);
        builder.Services.AddSingleton(typeof(ILogger<>), typeof(Logger<>));
        builder.Services.AddSingleton(options);
        builder.Services.AddSingleton(_ => new NpgsqlDataSourceBuilder(connectionString).Build());
        builder.Services.AddKeyedSingleton(WorkflowStore.TransitionsKey, (_, _) => new NpgsqlDataSourceBuilder(
            new NpgsqlConnectionStringBuilder(connectionString) { Options = "-c synchronous_commit=off", MaxPoolSize = 20 }.ConnectionString).Build());
        ConfigureRuntimeServices(builder.Services, options);

        var host = builder.Build();
        var runtime = new EmbeddedRuntime(host, options);
        await host.StartAsync(cancellationToken);
        return runtime;
    }

    /// <summary>Runtime-wide services of each building block, registered in one place.</summary>
    private static void ConfigureRuntimeServices(IServiceCollection services, RuntimeOptions options)
    {
        services.AddSingleton<AppDirectory>();
        services.AddActorRuntime();
        services.AddRuntimeComponents(options.ResourcesPaths, options.ConfigFilePath);
        services.AddPubSubLog();
        services.AddRuntimeRetention(options.Retention);
    }

    /// <summary>Starts the sidecar of <paramref name="app"/>; the app itself is started by the caller.</summary>
    public async Task<Sidecar> AddSidecarAsync(AppDescriptor app, CancellationToken cancellationToken = default)
    {
        var sidecar = await Sidecar.StartAsync(app, this, cancellationToken);
        Services.GetRequiredService<AppDirectory>().Add(app);
        lock (_gate)
        {
            _sidecars.Add(sidecar);
        }

        return sidecar;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var sidecar in Sidecars)
        {
            await sidecar.DisposeAsync();
        }

        await _host.StopAsync();
        _host.Dispose();
    }
}
