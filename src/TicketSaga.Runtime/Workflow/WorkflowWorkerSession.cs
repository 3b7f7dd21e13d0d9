using System.Collections.Concurrent;
using DurableTask.Core;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// The task hub as the dispatchers serving one worker connection see it. It remembers the work items
/// it has locked, so that their locks are renewed while the connection lives and released the moment
/// it ends (the app's next connection gets them at once, instead of after the lock expires).
/// </summary>
internal sealed class WorkflowWorkerSession(WorkflowStore store) : IOrchestrationService
{
    /// <summary>Open work items only wait on the app here, so the limit only guards against runaway.</summary>
    private const int ConcurrentWorkItems = 1000;

    /// <summary>A work item that failed (not its workflow: the engine or the connection) is tried again after this.</summary>
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<TaskOrchestrationWorkItem, OrchestrationLock> _orchestrations = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<TaskActivityWorkItem, Guid> _activities = new(ReferenceEqualityComparer.Instance);
    private volatile bool _closed;

    public int MaxConcurrentTaskOrchestrationWorkItems => ConcurrentWorkItems;

    public int MaxConcurrentTaskActivityWorkItems => ConcurrentWorkItems;

    public int TaskOrchestrationDispatcherCount => 4;

    public int TaskActivityDispatcherCount => 4;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => BehaviorOnContinueAsNew.Carryover;

    internal IEnumerable<Guid> LockTokens() => _orchestrations.Values.Select(held => held.Token).Concat(_activities.Values);

    internal Guid[] CloseAndTakeLockTokens()
    {
        _closed = true;
        var tokens = LockTokens().ToArray();
        _orchestrations.Clear();
        _activities.Clear();
        return tokens;
    }

    public async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        await WhileOpenAsync(cancellationToken);
        if (await store.LockNextOrchestrationAsync(receiveTimeout, cancellationToken) is not var (workItem, held))
        {
            return null!;
        }

        _orchestrations[workItem] = held;
        if (_closed)
        {
            // The connection ended while the lock was being taken: give the work item straight back.
            await ReleaseTaskOrchestrationWorkItemAsync(workItem);
            await WhileOpenAsync(cancellationToken);
        }

        return workItem;
    }

    public async Task CompleteTaskOrchestrationWorkItemAsync(
        TaskOrchestrationWorkItem workItem, OrchestrationRuntimeState newOrchestrationRuntimeState, IList<TaskMessage> outboundMessages,
        IList<TaskMessage> orchestratorMessages, IList<TaskMessage> timerMessages, TaskMessage continuedAsNewMessage, OrchestrationState orchestrationState)
    {
        if (!_orchestrations.TryRemove(workItem, out var held))
        {
            throw new LockLostException(workItem.InstanceId);
        }

        await store.CompleteOrchestrationAsync(workItem, held, newOrchestrationRuntimeState, outboundMessages, orchestratorMessages, timerMessages, orchestrationState);
    }

    public async Task AbandonTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem)
    {
        if (_orchestrations.TryRemove(workItem, out var held))
        {
            await store.ReleaseOrchestrationAsync(workItem, held, RetryAfterFailure);
        }
    }

    public async Task ReleaseTaskOrchestrationWorkItemAsync(TaskOrchestrationWorkItem workItem)
    {
        if (_orchestrations.TryRemove(workItem, out var held))
        {
            await store.ReleaseOrchestrationAsync(workItem, held, TimeSpan.Zero);
        }
    }

    public async Task RenewTaskOrchestrationWorkItemLockAsync(TaskOrchestrationWorkItem workItem)
    {
        if (_orchestrations.TryGetValue(workItem, out var held))
        {
            await store.RenewAsync([held.Token]);
        }
    }

    public async Task<TaskActivityWorkItem> LockNextTaskActivityWorkItem(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        await WhileOpenAsync(cancellationToken);
        if (await store.LockNextActivityAsync(receiveTimeout, cancellationToken) is not var (workItem, token))
        {
            return null!;
        }

        _activities[workItem] = token;
        if (_closed)
        {
            await AbandonTaskActivityWorkItemAsync(workItem);
            await WhileOpenAsync(cancellationToken);
        }

        return workItem;
    }

    public async Task CompleteTaskActivityWorkItemAsync(TaskActivityWorkItem workItem, TaskMessage responseMessage)
    {
        // A result that comes after the lock was lost is dropped: the activity runs again elsewhere.
        if (_activities.TryRemove(workItem, out var token))
        {
            await store.CompleteActivityAsync(workItem, token, responseMessage);
        }
    }

    public async Task AbandonTaskActivityWorkItemAsync(TaskActivityWorkItem workItem)
    {
        if (_activities.TryRemove(workItem, out var token))
        {
            await store.ReleaseActivityAsync(workItem, token, _closed ? TimeSpan.Zero : RetryAfterFailure);
        }
    }

    public async Task<TaskActivityWorkItem> RenewTaskActivityWorkItemLockAsync(TaskActivityWorkItem workItem)
    {
        if (_activities.TryGetValue(workItem, out var token))
        {
            await store.RenewAsync([token]);
        }

        return workItem;
    }

    /// <summary>A closed session's dispatchers wait (until the engine stops them) instead of taking work nobody would run.</summary>
    private async Task WhileOpenAsync(CancellationToken cancellationToken)
    {
        if (_closed)
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
        }
    }

    public Task StartAsync() => Task.CompletedTask;

    public Task StopAsync() => Task.CompletedTask;

    public Task StopAsync(bool isForced) => Task.CompletedTask;

    public Task CreateAsync() => Task.CompletedTask;

    public Task CreateAsync(bool recreateInstanceStore) => Task.CompletedTask;

    public Task CreateIfNotExistsAsync() => Task.CompletedTask;

    public Task DeleteAsync() => Task.CompletedTask;

    public Task DeleteAsync(bool deleteInstanceStore) => Task.CompletedTask;

    public bool IsMaxMessageCountExceeded(int currentMessageCount, OrchestrationRuntimeState runtimeState) => false;

    public int GetDelayInSecondsAfterOnProcessException(Exception exception) => exception is OperationCanceledException ? 0 : 1;

    public int GetDelayInSecondsAfterOnFetchException(Exception exception) => exception is OperationCanceledException ? 0 : 1;
}
