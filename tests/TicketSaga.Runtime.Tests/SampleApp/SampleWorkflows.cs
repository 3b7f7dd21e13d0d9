using Dapr.Workflow;

namespace TicketSaga.Runtime.Tests.SampleApp;

/// <summary>Activity, durable timer, then an external event: the shape of the order saga.</summary>
public sealed class ApprovalWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string input)
    {
        var greeting = await context.CallActivityAsync<string>(nameof(GreetActivity), input);
        await context.CreateTimer(TimeSpan.FromMilliseconds(200));
        var approval = await context.WaitForExternalEventAsync<string>("approval");
        return $"{greeting}|{approval}";
    }
}

/// <summary>
/// Its first run for a key stops at <see cref="Gates"/> until the test opens it (meanwhile the test
/// takes the instance's lock away), then greets: the episode of a worker that lost its lock.
/// </summary>
public sealed class GatedWorkflow : Workflow<string, string>
{
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, (TaskCompletionSource Reached, TaskCompletionSource Open)> Gates = new();

    public override Task<string> RunAsync(WorkflowContext context, string key)
    {
        if (Gates.TryRemove(key, out var gate))
        {
            gate.Reached.SetResult();
            gate.Open.Task.Wait();
        }

        return context.CallActivityAsync<string>(nameof(GreetActivity), key);
    }
}

/// <summary>Waits for an event with a timeout and says which came first.</summary>
public sealed class DeadlineWorkflow : Workflow<int, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, int timeoutMilliseconds)
    {
        try
        {
            return "event:" + await context.WaitForExternalEventAsync<string>("payment", TimeSpan.FromMilliseconds(timeoutMilliseconds));
        }
        catch (TaskCanceledException)
        {
            return "timed out";
        }
    }
}

/// <summary>Calls an activity that fails twice, under a retry policy of three attempts.</summary>
public sealed class RetryingWorkflow : Workflow<string, int>
{
    public override Task<int> RunAsync(WorkflowContext context, string key) =>
        context.CallActivityAsync<int>(
            nameof(FlakyActivity), key, new WorkflowTaskOptions(new WorkflowRetryPolicy(3, TimeSpan.FromMilliseconds(50))));
}

public sealed class ParentWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string input) =>
        "parent(" + await context.CallChildWorkflowAsync<string>(nameof(ChildWorkflow), input) + ")";
}

public sealed class ChildWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string input) =>
        "child(" + await context.CallActivityAsync<string>(nameof(GreetActivity), input) + ")";
}

/// <summary>Runs one activity that takes a while, long enough for a test to kill the runtime under it.</summary>
public sealed class SlowWorkflow : Workflow<string, string>
{
    public override Task<string> RunAsync(WorkflowContext context, string key) => context.CallActivityAsync<string>(nameof(SlowActivity), key);
}

/// <summary>Runs one activity that outlives several lock timeouts of the scale-out tests.</summary>
public sealed class LingeringWorkflow : Workflow<string, string>
{
    public override Task<string> RunAsync(WorkflowContext context, string key) => context.CallActivityAsync<string>(nameof(LingeringActivity), key);
}

/// <summary>Waits on a child workflow that itself waits on a timer.</summary>
public sealed class ParentOfDeadlineWorkflow : Workflow<int, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, int childTimeoutMilliseconds) =>
        "parent(" + await context.CallChildWorkflowAsync<string>(nameof(DeadlineWorkflow), childTimeoutMilliseconds) + ")";
}

/// <summary>Waits on a child (its id: the parent's plus "-child") that waits ten minutes for an event.</summary>
public sealed class ParentOfWaitingChildWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string input) =>
        "parent(" + await context.CallChildWorkflowAsync<string>(nameof(DeadlineWorkflow), 600_000, new ChildWorkflowTaskOptions(context.InstanceId + "-child")) + ")";
}

/// <summary>Greets once per generation ("greet:key-n"), waits 300 ms, then continues as new with the next generation.</summary>
public sealed class CountdownWorkflow : Workflow<Countdown, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, Countdown countdown)
    {
        await context.CallActivityAsync<string>(nameof(GreetActivity), $"{countdown.Key}-{countdown.Done}");
        await context.CreateTimer(TimeSpan.FromMilliseconds(300));
        if (countdown.Remaining == 0)
        {
            return $"lift-off after {countdown.Done} generations";
        }

        context.ContinueAsNew(countdown with { Remaining = countdown.Remaining - 1, Done = countdown.Done + 1 });
        return "";
    }
}

public sealed record Countdown(string Key, int Remaining, int Done);

/// <summary>Records each start, then takes two seconds.</summary>
public sealed class SlowActivity(Journal journal) : WorkflowActivity<string, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, string key)
    {
        journal.Record("slow:" + key);
        await Task.Delay(TimeSpan.FromSeconds(2));
        return "done " + key;
    }
}

/// <summary>Records each start, then takes six seconds.</summary>
public sealed class LingeringActivity(Journal journal) : WorkflowActivity<string, string>
{
    public override async Task<string> RunAsync(WorkflowActivityContext context, string key)
    {
        journal.Record("linger:" + key);
        await Task.Delay(TimeSpan.FromSeconds(6));
        return "done " + key;
    }
}

public sealed class GreetActivity(Journal journal) : WorkflowActivity<string, string>
{
    public override Task<string> RunAsync(WorkflowActivityContext context, string name)
    {
        journal.Record("greet:" + name);
        return Task.FromResult("hello " + name);
    }
}

/// <summary>Fails on its first two attempts for a key, then answers the attempt number.</summary>
public sealed class FlakyActivity(Journal journal) : WorkflowActivity<string, int>
{
    public override Task<int> RunAsync(WorkflowActivityContext context, string key)
    {
        journal.Record("flaky:" + key);
        var attempt = journal.Count("flaky:" + key);
        return attempt < 3 ? throw new InvalidOperationException($"attempt {attempt} fails") : Task.FromResult(attempt);
    }
}
