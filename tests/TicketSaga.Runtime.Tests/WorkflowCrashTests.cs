using Dapr.Workflow;
using TicketSaga.Runtime.Tests.SampleApp;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// The runtime is killed (SIGKILL, in its own process) under a running workflow and started again on
/// the same database: the workflow ends exactly as it would have without the kill.
/// </summary>
public sealed class WorkflowCrashTests(PostgresServer postgres) : IAsyncLifetime
{
    /// <summary>Short, so that the work a killed runtime held is taken over quickly.</summary>
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(2);

    private string _database = "";
    private SampleAppPod? _pod;

    private SampleAppPod Pod => _pod!;

    private Journal Journal => Pod.Journal;

    private DaprWorkflowClient Workflows => Pod.Workflows;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _database = await postgres.CreateDatabaseAsync("runtime");
        _pod = new SampleAppPod(_database, "crash-app", LockTimeout);
        await _pod.StartAsync();
    }

    [Fact]
    public async Task A_workflow_waiting_on_a_timer_ends_when_the_timer_fires_after_a_crash()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(DeadlineWorkflow), NewId(), 3_000);
        await Workflows.WaitForWorkflowStartAsync(id, cancellation: Cancellation);

        await Pod.KillAndRestartRuntimeAsync();

        Assert.Equal("timed out", (await CompletionAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_activity_cut_off_by_a_crash_runs_again_and_its_workflow_completes()
    {
        var key = NewId();
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(SlowWorkflow), NewId(), key);
        await Journal.WaitForAsync("slow:" + key);

        await Pod.KillAndRestartRuntimeAsync();

        Assert.Equal("done " + key, (await CompletionAsync(id)).ReadOutputAs<string>());
        Assert.True(Journal.Count("slow:" + key) >= 2, "the activity runs again: its first result went to the killed runtime");
    }

    [Fact]
    public async Task An_event_raised_but_not_yet_processed_survives_a_crash()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), NewId(), "ada");
        await Eventually.HoldsAsync(() => HistoryHasAsync(id, "TimerFiredEvent"), "the greeting and the timer behind the workflow");

        // With the app gone nothing can process the event before the crash.
        await Pod.StopAppAsync();
        await Workflows.RaiseEventAsync(id, "approval", "approved", Cancellation);
        await Pod.KillAndRestartRuntimeAsync();
        await Pod.StartAppAsync();

        var state = await CompletionAsync(id);
        Assert.Equal("hello ada|approved", state.ReadOutputAs<string>());
        Assert.Equal(1, Journal.Count("greet:ada"));
    }

    [Fact]
    public async Task A_workflow_waiting_for_a_child_workflow_gets_its_output_after_a_crash()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(ParentOfDeadlineWorkflow), NewId(), 3_000);
        await Workflows.WaitForWorkflowStartAsync(id, cancellation: Cancellation);
        await Task.Delay(TimeSpan.FromMilliseconds(500), Cancellation);

        await Pod.KillAndRestartRuntimeAsync();

        Assert.Equal("parent(timed out)", (await CompletionAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_workflow_that_continues_as_new_carries_on_from_its_latest_generation_after_a_crash()
    {
        var key = NewId();
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(CountdownWorkflow), NewId(), new Countdown(key, 8, 0));
        await Journal.WaitForAsync($"greet:{key}-2");

        await Pod.KillAndRestartRuntimeAsync();

        Assert.Equal("lift-off after 8 generations", (await CompletionAsync(id)).ReadOutputAs<string>());
        // Not started over: the generations that had ended before the crash ran once (the one in flight may run twice).
        Assert.Equal(1, Journal.Count($"greet:{key}-0"));
        Assert.Equal(1, Journal.Count($"greet:{key}-1"));
        Assert.Equal(1, Journal.Count($"greet:{key}-8"));
    }

    [Fact]
    public async Task A_suspended_workflow_stays_suspended_across_a_crash_and_completes_once_resumed()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), NewId(), "sam");
        await Eventually.HoldsAsync(() => HistoryHasAsync(id, "TimerFiredEvent"), "the greeting and the timer behind the workflow");
        await Workflows.SuspendWorkflowAsync(id, "audit", Cancellation);
        await Eventually.HoldsAsync(async () => (await Workflows.GetWorkflowStateAsync(id, cancellation: Cancellation)).RuntimeStatus == WorkflowRuntimeStatus.Suspended,
            "the workflow suspended");

        await Pod.KillAndRestartRuntimeAsync();
        await Workflows.RaiseEventAsync(id, "approval", "approved", Cancellation);

        // The event waits while the workflow is suspended, and counts once it is resumed.
        await Task.Delay(TimeSpan.FromSeconds(2), Cancellation);
        Assert.Equal(WorkflowRuntimeStatus.Suspended, (await Workflows.GetWorkflowStateAsync(id, cancellation: Cancellation)).RuntimeStatus);
        await Workflows.ResumeWorkflowAsync(id, "audited", Cancellation);
        Assert.Equal("hello sam|approved", (await CompletionAsync(id)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task The_episode_of_a_worker_whose_lock_was_taken_over_is_not_saved()
    {
        var key = NewId();
        var gate = (Reached: new TaskCompletionSource(), Open: new TaskCompletionSource());
        GatedWorkflow.Gates[key] = gate;
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(GatedWorkflow), NewId(), key);
        await gate.Reached.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancellation);

        // Another runtime takes the instance over (as after an expired lock) and is gone a second later.
        await using (var connection = new Npgsql.NpgsqlConnection(_database))
        {
            await connection.OpenAsync(Cancellation);
            await using var takeOver = new Npgsql.NpgsqlCommand(
                "UPDATE workflow_instances SET lock_token = gen_random_uuid(), locked_until = now() + interval '1 second' WHERE instance_id = $1", connection)
            {
                Parameters = { new() { Value = id } },
            };
            Assert.Equal(1, await takeOver.ExecuteNonQueryAsync(Cancellation));
        }

        gate.Open.SetResult();

        // The first worker's episode (which scheduled the greeting) is dropped whole; the replay schedules it once.
        Assert.Equal("hello " + key, (await CompletionAsync(id)).ReadOutputAs<string>());
        await Task.Delay(LockTimeout, Cancellation);
        Assert.Equal(1, Journal.Count("greet:" + key));
    }

    [Fact]
    public async Task Episodes_saved_together_with_one_whose_lock_was_lost_each_end_once()
    {
        var keys = Enumerable.Range(0, 8).Select(_ => NewId()).ToList();
        var gates = keys.ToDictionary(key => key, key => GatedWorkflow.Gates[key] = (Reached: new TaskCompletionSource(), Open: new TaskCompletionSource()));
        var ids = new List<string>();
        foreach (var key in keys)
        {
            ids.Add(await Workflows.ScheduleNewWorkflowAsync(nameof(GatedWorkflow), NewId(), key));
        }

        await Task.WhenAll(gates.Values.Select(g => g.Reached.Task)).WaitAsync(TimeSpan.FromSeconds(30), Cancellation);
        await using (var connection = new Npgsql.NpgsqlConnection(_database))
        {
            await connection.OpenAsync(Cancellation);
            await using var takeOver = new Npgsql.NpgsqlCommand(
                "UPDATE workflow_instances SET lock_token = gen_random_uuid(), locked_until = now() + interval '1 second' WHERE instance_id = $1", connection)
            {
                Parameters = { new() { Value = ids[3] } },
            };
            Assert.Equal(1, await takeOver.ExecuteNonQueryAsync(Cancellation));
        }

        // Opened together, their episodes end at once and are saved together.
        foreach (var gate in gates.Values)
        {
            gate.Open.SetResult();
        }

        foreach (var (id, key) in ids.Zip(keys))
        {
            Assert.Equal("hello " + key, (await CompletionAsync(id)).ReadOutputAs<string>());
        }

        await Task.Delay(LockTimeout, Cancellation);
        Assert.All(keys, key => Assert.Equal(1, Journal.Count("greet:" + key)));
    }

    private async Task<WorkflowState> CompletionAsync(string id)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        var state = await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: timeout.Token);
        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        return state;
    }

    private async Task<bool> HistoryHasAsync(string id, string eventType)
    {
        await using var connection = new Npgsql.NpgsqlConnection(_database);
        await connection.OpenAsync(Cancellation);
        await using var read = new Npgsql.NpgsqlCommand("SELECT history FROM workflow_instances WHERE instance_id = $1", connection) { Parameters = { new() { Value = id } } };
        return await read.ExecuteScalarAsync(Cancellation) is string history && history.Contains(eventType, StringComparison.Ordinal);
    }

    private static string NewId() => Guid.NewGuid().ToString("N");

    public async ValueTask DisposeAsync()
    {
        if (_pod is not null)
        {
            await _pod.DisposeAsync();
        }
    }
}
