using System.Collections.Concurrent;
using DurableTask.Core;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// The task hub as the dispatchers serving one worker connection see it. It claims work items a batch
/// at a time (one round trip to the database for many) and remembers the ones it has locked, so that
/// their locks are renewed while the connection lives and released the moment it ends (the app's next
/// connection gets them at once, instead of after the lock expires).
/// </summary>
internal sealed class WorkflowWorkerSession(WorkflowStore store) : IOrchestrationService
{
    /// <summary>Open work items only wait on the app here, so the limit only guards against runaway.</summary>
    private const int ConcurrentWorkItems = 1000;

    /// <summary>At most this many work items of a kind are claimed at once; the dispatcher takes them from the batch at once.</summary>
    private const int ClaimBatch = 32;

    /// <summary>A work item that failed (not its workflow: the engine or the connection) is tried again after this.</summary>
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<TaskOrchestrationWorkItem, OrchestrationLock> _orchestrations = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<TaskActivityWorkItem, Guid> _activities = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentQueue<(TaskOrchestrationWorkItem WorkItem, OrchestrationLock Lock)> _claimedOrchestrations = new();
    private readonly ConcurrentQueue<(TaskActivityWorkItem WorkItem, Guid Token)> _claimedActivities = new();
    private volatile bool _closed;

    public int MaxConcurrentTaskOrchestrationWorkItems => ConcurrentWorkItems;

    public int MaxConcurrentTaskActivityWorkItems => ConcurrentWorkItems;

    public int TaskOrchestrationDispatcherCount => 4;

    public int TaskActivityDispatcherCount => 4;

    public BehaviorOnContinueAsNew EventBehaviourForContinueAsNew => BehaviorOnContinueAsNew.Carryover;

    /// <summary>The tokens of every lock this session holds, handed out to a dispatcher or not yet (a batch shares one token).</summary>
    internal IEnumerable<Guid> LockTokens() => _orchestrations.Values.Select(held => held.Token)
        .Concat(_activities.Values)
        .Concat(_claimedOrchestrations.Select(claimed => claimed.Lock.Token))
        .Concat(_claimedActivities.Select(claimed => claimed.Token))
        .Distinct();

    internal Guid[] CloseAndTakeLockTokens()
    {
        _closed = true;
        var tokens = LockTokens().ToArray();
        _orchestrations.Clear();
        _activities.Clear();
        _claimedOrchestrations.Clear();
        _claimedActivities.Clear();
        return tokens;
    }

    public async Task<TaskOrchestrationWorkItem> LockNextTaskOrchestrationWorkItemAsync(TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        await WhileOpenAsync(cancellationToken);
        if (_claimedOrchestrations.IsEmpty)
        {
            foreach (var claimed in await store.LockNextOrchestrationsAsync(ClaimBatch, receiveTimeout, cancellationToken))
            {
                _claimedOrchestrations.Enqueue(claimed);
            }

            await GiveBackIfClosedAsync(_claimedOrchestrations, claimed => claimed.Lock.Token, cancellationToken);
        }

        if (!_claimedOrchestrations.TryDequeue(out var next))
        {
            return null!;
        }

        _orchestrations[next.WorkItem] = next.Lock;
        return next.WorkItem;
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
        if (_claimedActivities.IsEmpty)
        {
            foreach (var claimed in await store.LockNextActivitiesAsync(ClaimBatch, receiveTimeout, cancellationToken))
            {
                _claimedActivities.Enqueue(claimed);
            }

            await GiveBackIfClosedAsync(_claimedActivities, claimed => claimed.Token, cancellationToken);
        }

        if (!_claimedActivities.TryDequeue(out var next))
        {
            return null!;
        }

        _activities[next.WorkItem] = next.Token;
        return next.WorkItem;
    }

    /// <summary>The connection ended while a batch was being claimed: its work items go straight back.</summary>
    private async Task GiveBackIfClosedAsync<T>(ConcurrentQueue<T> claimed, Func<T, Guid> token, CancellationToken cancellationToken)
    {
        if (!_closed)
        {
            return;
        }

        var tokens = new HashSet<Guid>();
        while (claimed.TryDequeue(out var item))
        {
            tokens.Add(token(item));
        }

        await store.ReleaseLocksAsync([.. tokens]);
        await WhileOpenAsync(cancellationToken);
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
