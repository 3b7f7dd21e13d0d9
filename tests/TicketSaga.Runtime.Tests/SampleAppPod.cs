using Dapr.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Tests.SampleApp;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// One pod of the sample app: its runtime and sidecar in a process of their own (<see cref="RuntimeProcess"/>,
/// which a test can kill), the app in this process, and a workflow client of that sidecar.
/// </summary>
public sealed class SampleAppPod(string database, string appId, TimeSpan lockTimeout) : IAsyncDisposable
{
    private readonly AppDescriptor _app = new(appId, PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());
    private RuntimeProcess? _runtime;
    private IAsyncDisposable? _web;
    private ServiceProvider? _client;

    public Journal Journal { get; } = new();

    public DaprWorkflowClient Workflows => _client!.GetRequiredService<DaprWorkflowClient>();

    public async Task StartAsync()
    {
        _runtime = await RuntimeProcess.StartAsync(database, _app, lockTimeout);
        await StartAppAsync();
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(_app.AppEnvironment.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value))).Build());
        services.AddLogging();
        // The SDK's worker is a hosted service, not started in a bare container: this is a client only.
        services.AddDaprWorkflow(_ => { });
        _client = services.BuildServiceProvider();
    }

    public async Task StartAppAsync() => _web = await SampleApp.SampleApp.StartWebAsync(_app, Journal);

    public async Task StopAppAsync()
    {
        await _web!.DisposeAsync();
        _web = null;
    }

    /// <summary>SIGKILL to the runtime, then a new one on the same database and ports.</summary>
    public async Task KillAndRestartRuntimeAsync()
    {
        _runtime!.Kill();
        _runtime.Dispose();
        _runtime = await RuntimeProcess.StartAsync(database, _app, lockTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (_web is not null)
        {
            await _web.DisposeAsync();
        }

        if (_client is not null)
        {
            await _client.DisposeAsync();
        }

        _runtime?.Dispose();
    }
}
