using Microsoft.Extensions.Logging.Abstractions;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.Runtime.Tests;

/// <summary>A fresh embedded runtime on its own database, for one test class.</summary>
public sealed class RuntimeFixture(PostgresServer postgres) : IAsyncLifetime
{
    public EmbeddedRuntime Runtime { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync("runtime");
        Runtime = await EmbeddedRuntime.StartAsync(
            new RuntimeOptions { PostgresConnectionString = connectionString, Database = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database! },
            NullLoggerFactory.Instance);
    }

    /// <summary>A sidecar for an app id, with fresh ports (the app itself may or may not exist).</summary>
    public Task<Sidecar> AddSidecarAsync(string appId, int appPort = 0, AppChannelProtocol protocol = AppChannelProtocol.Http) =>
        Runtime.AddSidecarAsync(new AppDescriptor(
            appId, appPort == 0 ? PortAllocator.FreePort() : appPort, protocol, PortAllocator.FreePort(), PortAllocator.FreePort()));

    public ValueTask DisposeAsync() => Runtime.DisposeAsync();
}
