using Dapr.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Runtime.Postgres;

namespace TicketSaga.Runtime.Hosting;

/// <summary>What a <see cref="DaprTestHost"/> runs on and reads.</summary>
public sealed record DaprTestHostOptions
{
    /// <summary>A PostgreSQL server the runtime may create a database on.</summary>
    public required string PostgresConnectionString { get; init; }

    /// <summary>The runtime's database; none makes a fresh one, dropped when the host is disposed.</summary>
    public string? Database { get; init; }

    /// <summary>Resources folders (components, subscriptions, resiliency), like daprd's --resources-path; none: a pub/sub named <c>pubsub</c> only.</summary>
    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];

    /// <summary>A Configuration file (daprd's --config): accessControl, secrets scopes.</summary>
    public string? ConfigFilePath { get; init; }

    /// <summary>Where the app listens for its sidecar's calls; none picks a free port (read it from <see cref="DaprTestHost.App"/>).</summary>
    public int? AppPort { get; init; }

    public AppChannelProtocol AppProtocol { get; init; } = AppChannelProtocol.Http;

    /// <summary>Require this token on calls to the sidecar (daprd's DAPR_API_TOKEN); <see cref="DaprTestHost.CreateDaprClient"/> sends it.</summary>
    public string? DaprApiToken { get; init; }

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>
/// A Dapr sidecar for one app under test, without Docker or daprd: the embedded runtime on a PostgreSQL
/// database and one sidecar serving Dapr's HTTP and gRPC APIs on free ports. Start the app on
/// <see cref="App"/>'s port (Kestrel, or <c>WebApplicationFactory.UseKestrel(port)</c>) with
/// <see cref="AppSettings"/> as configuration, so that its DaprClient finds the sidecar; dispose to stop both
/// the sidecar and the runtime. README, "Testing a Dapr app without Docker".
/// </summary>
public sealed class DaprTestHost : IAsyncDisposable
{
    private readonly string? _ownedDatabase;
    private readonly string _postgresConnectionString;

    private DaprTestHost(EmbeddedRuntime runtime, Sidecar sidecar, string? ownedDatabase, string postgresConnectionString)
    {
        Runtime = runtime;
        Sidecar = sidecar;
        _ownedDatabase = ownedDatabase;
        _postgresConnectionString = postgresConnectionString;
    }

    public EmbeddedRuntime Runtime { get; }

    public Sidecar Sidecar { get; }

    /// <summary>The app id and ports: the app listens on <see cref="AppDescriptor.AppPort"/>.</summary>
    public AppDescriptor App => Sidecar.App;

    public Uri HttpEndpoint => new($"http://127.0.0.1:{App.HttpPort}");

    public Uri GrpcEndpoint => new($"http://127.0.0.1:{App.GrpcPort}");

    /// <summary>
    /// What `dapr run` gives the app (APP_ID, APP_PORT, DAPR_HTTP_PORT, DAPR_GRPC_PORT, DAPR_HTTP_ENDPOINT,
    /// DAPR_GRPC_ENDPOINT, DAPR_API_TOKEN): pass each to <c>IWebHostBuilder.UseSetting</c>; the Dapr SDK
    /// (<c>AddDaprClient</c>) reads them from configuration.
    /// </summary>
    public IReadOnlyDictionary<string, string> AppSettings => App.AppEnvironment;

    public static async Task<DaprTestHost> StartAsync(string appId, DaprTestHostOptions options, CancellationToken cancellationToken = default)
    {
        var database = options.Database ?? $"dapr_test_{Guid.NewGuid():N}";
        var runtime = await EmbeddedRuntime.StartAsync(
            new RuntimeOptions
            {
                PostgresConnectionString = options.PostgresConnectionString,
                Database = database,
                ResourcesPaths = options.ResourcesPaths,
                ConfigFilePath = options.ConfigFilePath,
            },
            options.LoggerFactory,
            cancellationToken);
        try
        {
            var app = new AppDescriptor(appId, options.AppPort ?? PortAllocator.FreePort(), options.AppProtocol, PortAllocator.FreePort(), PortAllocator.FreePort())
            {
                DaprApiToken = options.DaprApiToken,
            };
            var sidecar = await runtime.AddSidecarAsync(app, cancellationToken);
            return new DaprTestHost(runtime, sidecar, options.Database is null ? database : null, options.PostgresConnectionString);
        }
        catch
        {
            await runtime.DisposeAsync();
            throw;
        }
    }

    /// <summary>A DaprClient for this sidecar, as the app's own would be configured.</summary>
    public DaprClient CreateDaprClient()
    {
        var builder = new DaprClientBuilder().UseHttpEndpoint(HttpEndpoint.ToString()).UseGrpcEndpoint(GrpcEndpoint.ToString());
        return (App.DaprApiToken is { } token ? builder.UseDaprApiToken(token) : builder).Build();
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        if (_ownedDatabase is not null)
        {
            await using var connection = new NpgsqlConnection(_postgresConnectionString);
            await connection.OpenAsync();
            await PostgresDatabase.DropAsync(connection, _ownedDatabase);
        }
    }
}
