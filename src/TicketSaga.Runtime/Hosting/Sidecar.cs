using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Actors;
using TicketSaga.Runtime.Workflow;
using TicketSaga.Runtime.Api;
using TicketSaga.Runtime.Bindings;
using TicketSaga.Runtime.Invocation;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Runtime.Hosting;

/// <summary>
/// One app's sidecar, the embedded counterpart of daprd: the Dapr HTTP API on the HTTP port, the Dapr
/// gRPC API (with gRPC invocation and the workflow protocol) on the gRPC port.
/// </summary>
public sealed class Sidecar : IAsyncDisposable
{
    /// <summary>Connections one sidecar accepts at once: its app's, and other sidecars' calls to that app.</summary>
    private const long MaxConnections = 4096;

    private readonly WebApplication _web;
    private readonly Lazy<Task> _stopped;

    private Sidecar(AppDescriptor app, WebApplication web)
    {
        App = app;
        _web = web;
        _stopped = new Lazy<Task>(() => _web.StopAsync());

        // POST /v1.0/shutdown (HTTP or gRPC) asks for a graceful stop of this sidecar.
        _web.Lifetime.ApplicationStopping.Register(() => _ = _stopped.Value);
    }

    public AppDescriptor App { get; }

    /// <summary>This sidecar's own services (per app), e.g. to inspect state in tests.</summary>
    public IServiceProvider Services => _web.Services;

    internal static async Task<Sidecar> StartAsync(AppDescriptor app, EmbeddedRuntime runtime, CancellationToken cancellationToken)
    {
        // No watch for appsettings changes: it is a recursive watch of the working directory, where `up`
        // writes every app's log, and each sidecar's watcher woke for every line (4 % of the runtime's CPU).
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(runtime.Services.GetRequiredService<ILoggerFactory>());
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // Bounded like the apps' (RequestLimits): overload is refused at the door, never exhausts handles.
            kestrel.Limits.MaxConcurrentConnections = MaxConnections;
            kestrel.Limits.MaxConcurrentUpgradedConnections = 0;
            // daprd (Go) sends header values as UTF-8, e.g. a binding's metadata.duration in µs.
            kestrel.ResponseHeaderEncodingSelector = _ => System.Text.Encoding.UTF8;
            kestrel.Listen(IPAddress.Loopback, app.HttpPort, listen => listen.Protocols = HttpProtocols.Http1AndHttp2);
            kestrel.Listen(IPAddress.Loopback, app.GrpcPort, listen => listen.Protocols = HttpProtocols.Http2);
        });
        builder.Services.AddSingleton(app);
        builder.Services.AddSingleton(runtime);
        ConfigureSidecarServices(builder.Services, runtime);

        var web = builder.Build();
        MapSidecarApi(web);
        await web.StartAsync(cancellationToken);
        return new Sidecar(app, web);
    }

    /// <summary>Per-sidecar services of each building block, registered in one place.</summary>
    private static void ConfigureSidecarServices(IServiceCollection services, EmbeddedRuntime runtime)
    {
        services.AddSingleton(runtime.Services.GetRequiredService<AppDirectory>());
        services.AddSidecarActors(runtime.Services);
        services.AddSidecarWorkflows();
        services.AddSingleton(runtime.Services.GetRequiredService<Components.RuntimeResources>());
        services.AddDaprApi();
        services.AddServiceInvocation();
        services.AddSidecarPubSub(runtime);
        services.AddSidecarBindings();
    }

    /// <summary>The Dapr API surface of each building block, mapped in one place.</summary>
    private static void MapSidecarApi(WebApplication web)
    {
        web.UseCollapsedSlashes();
        web.UseDaprApiToken();
        web.UseRouting();
        web.MapHealthApi();
        web.MapActorsApi();
        web.MapWorkflowApi();
        web.MapServiceInvocation();
        web.MapDaprApi();
        web.MapPubSubApi();
        web.MapBindingsApi();
    }

    public async ValueTask DisposeAsync()
    {
        await _stopped.Value;
        await _web.DisposeAsync();
    }
}
