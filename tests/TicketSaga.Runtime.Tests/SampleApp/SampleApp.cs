using System.Net;
using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.Actors.Runtime;
using Dapr.Workflow;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Actors;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Tests.SampleApp;

/// <summary>
/// An app written only against the Dapr SDK (actors and workflows), on real Kestrel, given its
/// sidecar's ports through configuration exactly as `dapr run` gives them through the environment.
/// </summary>
public sealed class SampleApp : IAsyncDisposable
{
    private readonly WebApplication _web;

    private SampleApp(WebApplication web, Sidecar sidecar)
    {
        _web = web;
        Sidecar = sidecar;
    }

    public Sidecar Sidecar { get; }

    public Journal Journal => _web.Services.GetRequiredService<Journal>();

    public DaprWorkflowClient Workflows => _web.Services.GetRequiredService<DaprWorkflowClient>();

    /// <summary>A proxy to a counter actor through this app's sidecar, or through <paramref name="via"/>.</summary>
    public ICounterActor Counter(string id, Sidecar? via = null) => ActorProxy.Create<ICounterActor>(
        new ActorId(id), nameof(CounterActor), new ActorProxyOptions { HttpEndpoint = $"http://127.0.0.1:{(via ?? Sidecar).App.HttpPort}" });

    public static async Task<SampleApp> StartAsync(EmbeddedRuntime runtime, string appId, TimeSpan? actorIdleTimeout = null)
    {
        var descriptor = new AppDescriptor(appId, PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());
        var sidecar = await runtime.AddSidecarAsync(descriptor);
        var web = await StartWebAsync(descriptor, actorIdleTimeout);
        await runtime.Services.GetRequiredService<ActorPlacement>().WhenDiscoveredAsync(appId).WaitAsync(TimeSpan.FromSeconds(30));
        return new SampleApp(web, sidecar);
    }

    /// <summary>The app alone, for a sidecar in another process (one that a test kills).</summary>
    public static async Task<IAsyncDisposable> StartWebAsync(AppDescriptor descriptor, Journal journal) =>
        await StartWebAsync(descriptor, actorIdleTimeout: null, journal);

    private static async Task<WebApplication> StartWebAsync(AppDescriptor descriptor, TimeSpan? actorIdleTimeout, Journal? journal = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(descriptor.AppEnvironment.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value)));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, descriptor.AppPort));
        builder.Services.AddSingleton(journal ?? new Journal());
        builder.Services.AddActors(options =>
        {
            options.Actors.RegisterActor<CounterActor>();
            if (actorIdleTimeout is { } idle)
            {
                options.ActorIdleTimeout = idle;
                options.ActorScanInterval = TimeSpan.FromMilliseconds(200);
            }
        });
        builder.Services.AddDaprWorkflow(options =>
        {
            options.RegisterWorkflow<ApprovalWorkflow>();
            options.RegisterWorkflow<GatedWorkflow>();
            options.RegisterWorkflow<DeadlineWorkflow>();
            options.RegisterWorkflow<RetryingWorkflow>();
            options.RegisterWorkflow<ParentWorkflow>();
            options.RegisterWorkflow<ChildWorkflow>();
            options.RegisterWorkflow<SlowWorkflow>();
            options.RegisterWorkflow<LingeringWorkflow>();
            options.RegisterWorkflow<ParentOfDeadlineWorkflow>();
            options.RegisterWorkflow<ParentOfWaitingChildWorkflow>();
            options.RegisterWorkflow<CountdownWorkflow>();
            options.RegisterActivity<GreetActivity>();
            options.RegisterActivity<FlakyActivity>();
            options.RegisterActivity<SlowActivity>();
            options.RegisterActivity<LingeringActivity>();
        });

        var web = builder.Build();
        web.MapActorsHandlers();
        await web.StartAsync();
        return web;
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
    }
}
