using Dapr.Workflow;
using TicketSaga.Runtime.Tests.SampleApp;

namespace TicketSaga.Runtime.Tests;

public sealed class WorkflowTests(SampleAppFixture fixture) : IClassFixture<SampleAppFixture>
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    private DaprWorkflowClient Workflows => fixture.App.Workflows;

    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_workflow_runs_an_activity_a_durable_timer_and_waits_for_an_external_event()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), NewId(), "ada");
        await fixture.App.Journal.WaitForAsync("greet:ada");

        await Workflows.RaiseEventAsync(id, "approval", "approved", Cancellation);
        var state = await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Cancellation);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal("hello ada|approved", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task Waiting_for_an_event_times_out_when_it_does_not_come()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(DeadlineWorkflow), NewId(), 200);

        var state = await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Cancellation);

        Assert.Equal("timed out", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task An_event_that_comes_in_time_wins_over_the_timeout()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(DeadlineWorkflow), NewId(), 60_000);
        await Workflows.WaitForWorkflowStartAsync(id, cancellation: Cancellation);

        await Workflows.RaiseEventAsync(id, "payment", "succeeded", Cancellation);

        Assert.Equal("event:succeeded", (await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Cancellation)).ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_failing_activity_is_retried_by_its_retry_policy()
    {
        var key = NewId();
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(RetryingWorkflow), NewId(), key);

        var state = await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Cancellation);

        Assert.Equal(WorkflowRuntimeStatus.Completed, state.RuntimeStatus);
        Assert.Equal(3, state.ReadOutputAs<int>());
        Assert.Equal(3, fixture.App.Journal.Count("flaky:" + key));
    }

    [Fact]
    public async Task A_child_workflow_returns_its_output_to_the_parent()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(ParentWorkflow), NewId(), "bob");

        var state = await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Cancellation);

        Assert.Equal("parent(child(hello bob))", state.ReadOutputAs<string>());
    }

    [Fact]
    public async Task A_terminated_workflow_stops_waiting()
    {
        var id = await Workflows.ScheduleNewWorkflowAsync(nameof(ApprovalWorkflow), NewId(), "eve");
        await Workflows.WaitForWorkflowStartAsync(id, cancellation: Cancellation);

        await Workflows.TerminateWorkflowAsync(id, cancellation: Cancellation);

        Assert.Equal(WorkflowRuntimeStatus.Terminated, (await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Cancellation)).RuntimeStatus);
    }

    [Fact]
    public async Task Terminating_a_parent_terminates_its_waiting_child_and_purging_the_parent_purges_the_child()
    {
        var id = NewId();
        var child = id + "-child";
        await Workflows.ScheduleNewWorkflowAsync(nameof(ParentOfWaitingChildWorkflow), id, "x");
        await TestSupport.EventuallyAsync(async () => (await Workflows.GetWorkflowStateAsync(child, cancellation: Cancellation)).RuntimeStatus == WorkflowRuntimeStatus.Running,
            "the child workflow running");

        await Workflows.TerminateWorkflowAsync(id, cancellation: Cancellation);

        Assert.Equal(WorkflowRuntimeStatus.Terminated, (await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: Cancellation)).RuntimeStatus);
        using var childEnds = CancellationTokenSource.CreateLinkedTokenSource(Cancellation);
        childEnds.CancelAfter(TimeSpan.FromSeconds(30));
        Assert.Equal(WorkflowRuntimeStatus.Terminated, (await Workflows.WaitForWorkflowCompletionAsync(child, cancellation: childEnds.Token)).RuntimeStatus);
        Assert.True(await Workflows.PurgeInstanceAsync(id, Cancellation));
        Assert.False((await Workflows.GetWorkflowStateAsync(id, cancellation: Cancellation)).Exists);
        Assert.False((await Workflows.GetWorkflowStateAsync(child, cancellation: Cancellation)).Exists);
    }

    [Fact(Timeout = 60_000)]
    public async Task A_purged_workflow_id_can_be_used_again_even_after_its_pending_timer_passes()
    {
        var cancellation = TestContext.Current.CancellationToken;
        var id = NewId();
        await Workflows.ScheduleNewWorkflowAsync(nameof(DeadlineWorkflow), id, 1_000);
        await Workflows.WaitForWorkflowStartAsync(id, cancellation: cancellation);
        await Workflows.RaiseEventAsync(id, "payment", "succeeded", cancellation);
        await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: cancellation);

        Assert.True(await Workflows.PurgeInstanceAsync(id, cancellation));
        Assert.False((await Workflows.GetWorkflowStateAsync(id, cancellation: cancellation)).Exists);

        // Outlives the purged instance's timeout timer.
        var longer = await Workflows.ScheduleNewWorkflowAsync(nameof(DeadlineWorkflow), NewId(), 1_500);
        await Workflows.WaitForWorkflowCompletionAsync(longer, cancellation: cancellation);

        await Workflows.ScheduleNewWorkflowAsync(nameof(DeadlineWorkflow), id, 200);
        var again = await Workflows.WaitForWorkflowCompletionAsync(id, cancellation: cancellation);
        Assert.Equal(WorkflowRuntimeStatus.Completed, again.RuntimeStatus);
        Assert.Equal("timed out", again.ReadOutputAs<string>());
    }

    [Fact]
    public async Task The_status_of_an_unknown_workflow_is_a_clean_not_found()
    {
        var state = await Workflows.GetWorkflowStateAsync("never-scheduled-" + NewId(), cancellation: Cancellation);

        Assert.False(state.Exists);
    }
}
