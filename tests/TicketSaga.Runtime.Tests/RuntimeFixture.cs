using Microsoft.Extensions.Logging.Abstractions;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.Runtime.Tests;

/// <summary>A fresh embedded runtime on its own database, for one test class.</summary>
public class RuntimeFixture(PostgresServer postgres) : IAsyncLifetime
{
    private string _connectionString = "";

    public EmbeddedRuntime Runtime { get; private set; } = null!;

    /// <summary>The resources folder the runtime reads; null for the built-in defaults.</summary>
    protected virtual IReadOnlyList<string> ResourcesPaths => [];

    public async ValueTask InitializeAsync()
    {
        _connectionString = await postgres.CreateDatabaseAsync("runtime");
        Runtime = await StartRuntimeAsync();
    }

    /// <summary>Stops the runtime abruptly for its apps and starts a new one on the same database.</summary>
    public async Task RestartAsync()
    {
        await Runtime.DisposeAsync();
        Runtime = await StartRuntimeAsync();
    }

    /// <summary>A sidecar for an app id, with fresh ports (the app itself may or may not exist).</summary>
    public Task<Sidecar> AddSidecarAsync(string appId, int appPort = 0, AppChannelProtocol protocol = AppChannelProtocol.Http) =>
        Runtime.AddSidecarAsync(new AppDescriptor(
            appId, appPort == 0 ? PortAllocator.FreePort() : appPort, protocol, PortAllocator.FreePort(), PortAllocator.FreePort()));

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    private Task<EmbeddedRuntime> StartRuntimeAsync() => EmbeddedRuntime.StartAsync(
        new RuntimeOptions
        {
            PostgresConnectionString = _connectionString,
            Database = new Npgsql.NpgsqlConnectionStringBuilder(_connectionString).Database!,
            ResourcesPaths = ResourcesPaths,
        },
        NullLoggerFactory.Instance);
}

/// <summary>A runtime reading tests/TicketSaga.Runtime.Tests/resources (short retry delays).</summary>
public sealed class ResourcesRuntimeFixture(PostgresServer postgres) : RuntimeFixture(postgres)
{
    protected override IReadOnlyList<string> ResourcesPaths => [Path.Combine(AppContext.BaseDirectory, "resources")];
}
