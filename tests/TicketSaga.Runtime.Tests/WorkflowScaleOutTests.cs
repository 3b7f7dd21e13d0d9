using Dapr.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Tests.SampleApp;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// Two runtimes (processes) on one database serve two replicas of one app, as two daprd pods would:
/// they share the app's task hub, and the work-item locks keep them from running anything twice.
/// </summary>
public sealed class WorkflowScaleOutTests(PostgresServer postgres) : IAsyncLifetime
{
    private const string AppId = "scaled-app";
    private const int Workflows = 40;

    private readonly Replica[] _replicas = [new(), new()];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var database = await postgres.CreateDatabaseAsync("runtime");
        foreach (var replica in _replicas)
        {
            await replica.StartAsync(database);
        }
    }

    [Fact]
    public async Task Workflows_started_on_either_replica_all_complete_and_each_activity_runs_once()
    {
        var ids = new List<(string Id, string Key, DaprWorkflowClient Client)>();
        for (var n = 0; n < Workflows; n++)
        {
            var key = $"k{n}";
            var client = _replicas[n % 2].Workflows;
            ids.Add((await client.ScheduleNewWorkflowAsync(nameof(GatedWorkflow), Guid.NewGuid().ToString("N"), key), key, client));
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        foreach (var (id, key, client) in ids)
        {
            var state = await client.WaitForWorkflowCompletionAsync(id, cancellation: timeout.Token);
            Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
            Assert.Equal("hello " + key, state.ReadOutputAs<string>());
        }

        // Longer than a lock lives: a work item run twice would have shown by now.
        await Task.Delay(Replica.LockTimeout * 2, Cancellation);
        Assert.All(ids, workflow => Assert.Equal(1, _replicas.Sum(r => r.Journal.Count("greet:" + workflow.Key))));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in _replicas)
        {
            await replica.DisposeAsync();
        }
    }

    /// <summary>One pod: a runtime process with the app's sidecar, the app, and a workflow client of that sidecar.</summary>
    private sealed class Replica : IAsyncDisposable
    {
        public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);

        private readonly AppDescriptor _app = new(AppId, PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());
        private RuntimeProcess? _runtime;
        private IAsyncDisposable? _web;
        private ServiceProvider? _client;

        public Journal Journal { get; } = new();

        public DaprWorkflowClient Workflows => _client!.GetRequiredService<DaprWorkflowClient>();

        public async Task StartAsync(string database)
        {
            _runtime = await RuntimeProcess.StartAsync(database, _app, LockTimeout);
            _web = await SampleApp.SampleApp.StartWebAsync(_app, Journal);
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(_app.AppEnvironment.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value))).Build());
            services.AddLogging();
            services.AddDaprWorkflow(_ => { });
            _client = services.BuildServiceProvider();
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
}
