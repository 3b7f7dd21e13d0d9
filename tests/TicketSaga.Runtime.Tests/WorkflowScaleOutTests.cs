using Dapr.Workflow;
using TicketSaga.Runtime.Tests.SampleApp;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// Two runtimes (processes) on one database serve two replicas of one app, as two daprd pods would:
/// they share the app's task hub, and the work-item locks keep them from running anything twice.
/// </summary>
public sealed class WorkflowScaleOutTests(PostgresServer postgres) : IAsyncLifetime
{
    private const int Workflows = 40;

    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);

    private readonly List<SampleAppPod> _pods = [];

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        var database = await postgres.CreateDatabaseAsync("runtime");
        for (var n = 0; n < 2; n++)
        {
            _pods.Add(new SampleAppPod(database, "scaled-app", LockTimeout));
            await _pods[^1].StartAsync();
        }
    }

    [Fact]
    public async Task Workflows_started_on_either_replica_all_complete_and_each_activity_runs_once()
    {
        var ids = new List<(string Id, string Key, DaprWorkflowClient Client)>();
        for (var n = 0; n < Workflows; n++)
        {
            var key = $"k{n}";
            var client = _pods[n % 2].Workflows;
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
        await Task.Delay(LockTimeout * 2, Cancellation);
        Assert.All(ids, workflow => Assert.Equal(1, _pods.Sum(pod => pod.Journal.Count("greet:" + workflow.Key))));
    }

    [Fact]
    public async Task An_activity_that_outlives_its_lock_timeout_keeps_its_lock_and_runs_once()
    {
        var key = Guid.NewGuid().ToString("N");
        var client = _pods[0].Workflows;
        var id = await client.ScheduleNewWorkflowAsync(nameof(LingeringWorkflow), Guid.NewGuid().ToString("N"), key);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(90));
        var state = await client.WaitForWorkflowCompletionAsync(id, cancellation: timeout.Token);

        // Three lock timeouts long: without renewals either runtime would have taken the activity over and started it again.
        Assert.Equal("done " + key, state.ReadOutputAs<string>());
        Assert.Equal(1, _pods.Sum(pod => pod.Journal.Count("linger:" + key)));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var pod in _pods)
        {
            await pod.DisposeAsync();
        }
    }
}
