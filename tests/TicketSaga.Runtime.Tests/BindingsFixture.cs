using System.Collections.Concurrent;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// One runtime with Dapr binding components: <c>sqldb</c> (bindings.postgresql, its libpq-style connection string a
/// secretKeyRef) for every app, <c>pgurl</c> (bindings.postgres, a URL) scoped to app "other", and cron input
/// bindings: <c>cron</c> (<c>@every 1s</c>, direction input) scoped to the HTTP app "ticker" and the gRPC app "grpcticker";
/// <c>wake</c> (six fields, every second, route <c>/wake</c>, no direction: the app is asked), <c>ignored</c> (no
/// direction, no route in the app), <c>grpconly</c> and <c>unlisted</c> (no direction; the gRPC app lists only the first).
/// App "bystander" has a <c>POST /cron</c> route but is outside the scopes of every cron binding.
/// </summary>
public sealed class BindingsFixture(PostgresServer postgres) : IAsyncLifetime
{
    public const string AppId = "clerk";

    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-bindings-").FullName;
    private readonly List<TestApp> _apps = [];

    public DaprTestHost Host { get; private set; } = null!;

    /// <summary>The database the bindings write to.</summary>
    public string Database { get; private set; } = "";

    public Sidecar Other { get; private set; } = null!;

    public Sidecar Closer { get; private set; } = null!;

    public Sidecar Guarded { get; private set; } = null!;

    /// <summary>Every request the HTTP apps received: app, method, path, headers, body.</summary>
    public ConcurrentQueue<(string App, string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)> HttpCalls { get; } = new();

    public ConcurrentQueue<BindingEventRequest> GrpcEvents { get; } = new();

    public async ValueTask InitializeAsync()
    {
        Database = await postgres.CreateDatabaseAsync("bindings");
        var target = new NpgsqlConnectionStringBuilder(Database);
        var secretsFile = Path.Combine(_folder, "secrets.json");
        await File.WriteAllTextAsync(secretsFile, System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["pg"] = $"host={target.Host} port={target.Port} user={target.Username} password='{target.Password}' dbname={target.Database} sslmode=disable pool_max_conns=4",
        }));
        var url = $"postgres://{Uri.EscapeDataString(target.Username!)}:{Uri.EscapeDataString(target.Password ?? "")}@{target.Host}:{target.Port}/{target.Database}?sslmode=disable";
        await File.WriteAllTextAsync(Path.Combine(_folder, "components.yaml"), $"""
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: sqldb
            spec:
              type: bindings.postgresql
              version: v1
              metadata:
                - name: connectionString
                  secretKeyRef:
                    name: pg
                    key: pg
                - name: direction
                  value: output
            auth:
              secretStore: secretstore
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: secretstore
            spec:
              type: secretstores.local.file
              version: v1
              metadata:
                - name: secretsFile
                  value: "{secretsFile}"
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: pgurl
            spec:
              type: bindings.postgres
              version: v1
              metadata:
                - name: url
                  value: "{url}"
            scopes: [other]
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: cron
            spec:
              type: bindings.cron
              version: v1
              metadata:
                - name: schedule
                  value: "@every 1s"
                - name: direction
                  value: input
            scopes: [ticker, grpcticker]
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: wake
            spec:
              type: bindings.cron
              version: v1
              metadata:
                - name: schedule
                  value: "* * * * * *"
                - name: route
                  value: /wake-up
            scopes: [ticker]
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: ignored
            spec:
              type: bindings.cron
              version: v1
              metadata:
                - name: schedule
                  value: "@every 1s"
            scopes: [ticker]
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: grpconly
            spec:
              type: bindings.cron
              version: v1
              metadata:
                - name: schedule
                  value: "@every 1s"
            scopes: [grpcticker]
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: unlisted
            spec:
              type: bindings.cron
              version: v1
              metadata:
                - name: schedule
                  value: "@every 1s"
            scopes: [grpcticker]
            """);
        Host = await DaprTestHost.StartAsync(AppId, new DaprTestHostOptions
        {
            PostgresConnectionString = postgres.ConnectionString,
            ResourcesPaths = [_folder],
        });
        Other = await AddSidecarAsync("other");
        Closer = await AddSidecarAsync("closer");
        Guarded = await Host.Runtime.AddSidecarAsync(new AppDescriptor("guarded", PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort())
        {
            DaprApiToken = "guarded-token",
        });
        await StartHttpAppAsync("ticker", web =>
        {
            web.MapPost("/cron", () => Results.Ok());
            web.MapPost("/wake-up", () => Results.Problem("the app is not awake", statusCode: 500));
        });
        await StartHttpAppAsync("bystander", web => web.MapPost("/cron", () => Results.Ok()));
        var grpcPort = PortAllocator.FreePort();
        _apps.Add(await TestApp.StartAsync(grpcPort, web => web.MapGrpcService<TickerCallback>(), AppChannelProtocol.Grpc,
            services => services.AddGrpc().Services.AddSingleton(GrpcEvents)));
        await Host.Runtime.AddSidecarAsync(new AppDescriptor("grpcticker", grpcPort, AppChannelProtocol.Grpc, PortAllocator.FreePort(), PortAllocator.FreePort()));
    }

    public HttpClient CreateHttpClient(Sidecar? sidecar = null) => new() { BaseAddress = new Uri($"http://127.0.0.1:{(sidecar ?? Host.Sidecar).App.HttpPort}") };

    private async Task StartHttpAppAsync(string appId, Action<WebApplication> map)
    {
        var port = PortAllocator.FreePort();
        _apps.Add(await TestApp.StartAsync(port, web =>
        {
            web.Use(async (context, next) =>
            {
                using var reader = new StreamReader(context.Request.Body);
                var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
                HttpCalls.Enqueue((appId, context.Request.Method, context.Request.Path.Value ?? "", headers, await reader.ReadToEndAsync()));
                await next(context);
            });
            map(web);
        }));
        await AddSidecarAsync(appId, port);
    }

    private Task<Sidecar> AddSidecarAsync(string appId, int appPort = 0) => Host.Runtime.AddSidecarAsync(
        new AppDescriptor(appId, appPort == 0 ? PortAllocator.FreePort() : appPort, AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort()));

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>A gRPC app reading input bindings as the SDK's AppCallback does: it lists <c>grpconly</c> and records each event.</summary>
public sealed class TickerCallback(ConcurrentQueue<BindingEventRequest> events) : AppCallback.AppCallbackBase
{
    public override Task<ListInputBindingsResponse> ListInputBindings(Empty request, ServerCallContext context) =>
        Task.FromResult(new ListInputBindingsResponse { Bindings = { "grpconly" } });

    public override Task<BindingEventResponse> OnBindingEvent(BindingEventRequest request, ServerCallContext context)
    {
        events.Enqueue(request);
        return Task.FromResult(new BindingEventResponse());
    }
}
