using System.Collections.Concurrent;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using DurableTask.Core.Query;
using Microsoft.Extensions.Logging;
using Npgsql;
using NpgsqlTypes;
using TicketSaga.Runtime.Postgres;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// One app's task hub in PostgreSQL: instances with their history, new events (a timer is an event
/// visible at its fire time) and scheduled activities. A work item is claimed by writing a lock token
/// with an expiry, so that two dispatchers (two runtimes, or a restart racing the old process) never
/// run one work item at the same time, and a dead process's work item is run again once its lock has
/// expired. Every change of an episode (history, consumed events, new activities, timers and messages
/// to other instances) commits in one transaction, so a crash replays the episode or none of it.
/// </summary>
internal sealed partial class WorkflowStore : IOrchestrationServiceClient, IOrchestrationServicePurgeClient, IDisposable
{
    private static readonly OrchestrationStatus[] Ended = [OrchestrationStatus.Completed, OrchestrationStatus.Failed, OrchestrationStatus.Terminated, OrchestrationStatus.Canceled];

    /// <summary>Scheduling an id that is still active fails, as Dapr's does; an ended one is replaced.</summary>
    private static readonly OrchestrationStatus[] ActiveStatuses = [OrchestrationStatus.Pending, OrchestrationStatus.Running, OrchestrationStatus.Suspended, OrchestrationStatus.ContinuedAsNew];

    /// <summary>The service key of the data source for <see cref="_transitions"/>.</summary>
    internal const string TransitionsKey = "workflow-transitions";

    /// <summary>What workflow_require_lock raises when an episode's worker no longer holds its instance.</summary>
    private const string LockLostState = "WF001";

    /// <summary>At most this many activity results go in one write.</summary>
    private const int ActivityResultsPerWrite = 256;

    private const int EpisodesPerWrite = 64;

    private readonly NpgsqlDataSource _db;

    /// <summary>
    /// The engine's own steps (claims, episodes, activity results, lock renewals) commit without waiting
    /// for the WAL flush: a crash loses at most the last fraction of a second of them, always a suffix
    /// of the WAL, and the engine replays from the state before it (activities run at least once
    /// anyway). What a client is told (a start, a raised event, a terminate, a purge) is flushed first.
    /// </summary>
    private readonly NpgsqlDataSource _transitions;
    private readonly string _appId;
    private readonly WorkflowOptions _options;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<WorkflowWorkerSession, bool> _sessions = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _endings = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _disposed = new();

    /// <summary>Activity results are written a batch at a time: one round trip and one commit for many activities.</summary>
    private readonly GroupCommit<ActivityResult> _activityResults;

    /// <summary>Episodes are saved a batch at a time too: each is its own statements, all of them one commit.</summary>
    private readonly GroupCommit<Episode> _episodes;

    public WorkflowStore(NpgsqlDataSource db, NpgsqlDataSource transitions, string appId, WorkflowOptions options, ILogger logger)
    {
        _db = db;
        _transitions = transitions;
        _appId = appId;
        _options = options;
        _logger = logger;
        _ = RenewLocksAsync(_disposed.Token);
        // A failed write fails its results: their activities' locks lapse and they run again (at least once), nothing is lost.
        _activityResults = new GroupCommit<ActivityResult>(ActivityResultsPerWrite, WriteWithRetryAsync, _disposed.Token);
        _episodes = new GroupCommit<Episode>(EpisodesPerWrite, SaveEpisodesAsync, _disposed.Token);
    }

    /// <summary>Wakes this process's orchestration dispatchers (another process finds the work on its next poll).</summary>
    internal WakeUp OrchestrationsDue { get; } = new();

    internal WakeUp ActivitiesDue { get; } = new();

    internal WorkflowWorkerSession OpenSession()
    {
        var session = new WorkflowWorkerSession(this);
        _sessions[session] = true;
        return session;
    }

    /// <summary>Releases the locks a worker connection held, so that its work items go to the next worker at once.</summary>
    internal async Task CloseSessionAsync(WorkflowWorkerSession session)
    {
        _sessions.TryRemove(session, out _);
        await ReleaseLocksAsync(session.CloseAndTakeLockTokens());
    }

    internal async Task ReleaseLocksAsync(Guid[] tokens)
    {
        if (tokens.Length == 0)
        {
            return;
        }

        await using var batch = _transitions.CreateBatch();
        batch.BatchCommands.Add(Command("UPDATE workflow_instances SET lock_token = NULL, locked_until = NULL WHERE lock_token = ANY($1)", tokens));
        batch.BatchCommands.Add(Command("UPDATE workflow_activities SET lock_token = NULL, locked_until = NULL WHERE lock_token = ANY($1)", tokens));
        await batch.ExecuteNonQueryAsync();
        OrchestrationsDue.Notify();
        ActivitiesDue.Notify();
    }

    // ---- Orchestration work items -------------------------------------------------------------

    /// <summary>
    /// Claims up to <paramref name="batch"/> instances with events due, each with those events, in one
    /// statement under one lock token; waits for work when none is due.
    /// </summary>
    internal async Task<IReadOnlyList<(TaskOrchestrationWorkItem WorkItem, OrchestrationLock Lock)>> LockNextOrchestrationsAsync(
        int batch, TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var giveUpAt = receiveTimeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + receiveTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = Guid.NewGuid();
            await using var connection = await _transitions.OpenConnectionAsync(cancellationToken);

            // workflow_claim (migration 0007) walks the due events oldest first and locks their instances.
            await using var claim = new NpgsqlCommand(
                "SELECT instance_id, history, locked_until, seq, message FROM workflow_claim($1, $2, $3, $4, $5)", connection)
            {
                Parameters =
                {
                    new() { Value = _appId }, new() { Value = token }, new() { Value = _options.LockTimeout }, new() { Value = batch },
                    new() { Value = (int)OrchestrationStatus.Suspended },
                },
            };
            var claimed = new List<(TaskOrchestrationWorkItem WorkItem, OrchestrationLock Lock)>();
            await using (var reader = await claim.ExecuteReaderAsync(cancellationToken))
            {
                string? instanceId = null, history = null;
                DateTime lockedUntil = default;
                var seqs = new List<long>();
                var messages = new List<TaskMessage>();
                while (await reader.ReadAsync(cancellationToken))
                {
                    if (reader.GetString(0) != instanceId)
                    {
                        AddClaimed();
                        (instanceId, history, lockedUntil) = (reader.GetString(0), reader.GetString(1), reader.GetDateTime(2));
                        (seqs, messages) = ([], []);
                    }

                    seqs.Add(reader.GetInt64(3));
                    messages.Add(WorkflowJson.ReadMessage(reader.GetString(4)));
                }

                AddClaimed();

                void AddClaimed()
                {
                    if (instanceId is null)
                    {
                        return;
                    }

                    var workItem = new TaskOrchestrationWorkItem
                    {
                        InstanceId = instanceId,
                        OrchestrationRuntimeState = new OrchestrationRuntimeState(WorkflowJson.ReadHistory(history!)),
                        NewMessages = messages,
                        LockedUntilUtc = lockedUntil,
                    };
                    claimed.Add((workItem, new OrchestrationLock(token, [.. seqs])));
                }
            }

            if (claimed.Count > 0)
            {
                return claimed;
            }

            // Nothing due: sleep until the next timer, a wake-up from this process, or the next poll.
            await using var nextDue = new NpgsqlCommand("SELECT min(visible_at) FROM workflow_events WHERE app_id = $1 AND visible_at > now()", connection)
            {
                Parameters = { new() { Value = _appId } },
            };
            var next = await nextDue.ExecuteScalarAsync(cancellationToken) as DateTime?;
            await connection.CloseAsync();
            var wait = _options.IdlePollInterval;
            if (next is { } due && due - DateTime.UtcNow < wait)
            {
                wait = due - DateTime.UtcNow;
            }

            if (giveUpAt - DateTime.UtcNow < wait)
            {
                wait = giveUpAt - DateTime.UtcNow;
            }

            if (wait <= TimeSpan.Zero && giveUpAt <= DateTime.UtcNow)
            {
                return [];
            }

            await OrchestrationsDue.WaitAsync(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, cancellationToken);
        }
    }

    internal async Task CompleteOrchestrationAsync(
        TaskOrchestrationWorkItem workItem, OrchestrationLock held, OrchestrationRuntimeState runtimeState, IList<TaskMessage> activityMessages,
        IList<TaskMessage> orchestratorMessages, IList<TaskMessage> timerMessages, OrchestrationState? status)
    {
        status ??= StateOf(runtimeState);
        var ended = Ended.Contains(status.OrchestrationStatus);

        // Serialized here, on the dispatcher's thread: the one writer only puts the statements together.
        var saved = new SavedInstance(
            workItem.InstanceId, runtimeState.OrchestrationInstance?.ExecutionId ?? "", runtimeState.Name ?? "", status.OrchestrationStatus,
            WorkflowJson.Write(status), WorkflowJson.Write(runtimeState.Events), ended);
        var activities = activityMessages.Select(WorkflowJson.Write).ToArray();
        var timers = (VisibleAt: timerMessages.Select(VisibleAt).ToArray(), Messages: timerMessages.Select(WorkflowJson.Write).ToArray());
        try
        {
            await _episodes.AddAsync(new Episode(() => EpisodeCommands(saved, held, activities, timers, orchestratorMessages)));
        }
        catch (PostgresException exception) when (exception.SqlState == LockLostState)
        {
            throw new LockLostException(workItem.InstanceId);
        }

        // The instance may have more events waiting (they came while it ran), and its messages may have woken others.
        OrchestrationsDue.Notify();
        if (activityMessages.Count > 0)
        {
            ActivitiesDue.Notify();
        }

        if (ended && _endings.TryRemove(workItem.InstanceId, out var ending))
        {
            ending.TrySetResult();
        }
    }

    /// <summary>What saving an episode writes: the instance (if this worker still holds its lock), consumed events, new work.</summary>
    private IEnumerable<NpgsqlBatchCommand> EpisodeCommands(
        SavedInstance saved, OrchestrationLock held, string[] activities, (DateTime[] VisibleAt, string[] Messages) timers, IList<TaskMessage> orchestratorMessages)
    {
        // Only the holder of the lock may write: a worker whose lock expired (and whose instance another
        // dispatcher took over) finds no row to save, and its whole episode is rolled back (migration
        // 0007's workflow_require_lock raises).
        yield return Command(
            """
            WITH saved AS (
                UPDATE workflow_instances
                SET execution_id = $3, name = $4, status = $5, state = $6, history = $7, updated_at = now(),
                    completed_at = CASE WHEN $8 THEN now() END, lock_token = NULL, locked_until = NULL
                WHERE app_id = $1 AND instance_id = $2 AND lock_token = $9
                RETURNING 1)
            SELECT workflow_require_lock((SELECT count(*) FROM saved), $2)
            """,
            _appId, saved.InstanceId, saved.ExecutionId, saved.Name, (int)saved.Status, saved.State, saved.History, saved.Ended, held.Token);
        yield return Command("DELETE FROM workflow_events WHERE seq = ANY($1)", held.EventSeqs);
        if (saved.Ended)
        {
            // An ended instance runs nothing more: its pending timers, events and activities go.
            yield return Command("DELETE FROM workflow_events WHERE app_id = $1 AND instance_id = $2", _appId, saved.InstanceId);
            yield return Command("DELETE FROM workflow_activities WHERE app_id = $1 AND instance_id = $2", _appId, saved.InstanceId);
        }
        else
        {
            if (activities.Length > 0)
            {
                yield return Command(
                    "INSERT INTO workflow_activities (app_id, instance_id, message) SELECT $1, $2, m FROM unnest($3::text[]) WITH ORDINALITY AS t(m, n) ORDER BY n",
                    _appId, saved.InstanceId, activities);
            }

            if (timers.Messages.Length > 0)
            {
                yield return Command(
                    "INSERT INTO workflow_events (app_id, instance_id, visible_at, message) SELECT $1, $2, v, m FROM unnest($3::timestamptz[], $4::text[]) AS t(v, m)",
                    _appId, saved.InstanceId, timers.VisibleAt, timers.Messages);
            }
        }

        foreach (var message in orchestratorMessages)
        {
            yield return message.Event is ExecutionStartedEvent started
                ? StartChild(message, started)
                : Command(SendEventSql, _appId, message.OrchestrationInstance.InstanceId, VisibleAt(message), WorkflowJson.Write(message));
        }
    }

    /// <summary>
    /// The episodes that came while the last save ran, in one implicit transaction. One lost lock (or a
    /// deadlock) rolls the whole batch back, so each is then saved alone and only its own caller fails.
    /// </summary>
    private async Task SaveEpisodesAsync(IReadOnlyList<GroupCommit<Episode>.Pending> episodes, CancellationToken cancellationToken)
    {
        try
        {
            await SaveAsync(episodes, cancellationToken);
        }
        catch (PostgresException exception) when (episodes.Count > 1 && exception.SqlState is LockLostState or PostgresErrorCodes.DeadlockDetected)
        {
            foreach (var episode in episodes)
            {
                try
                {
                    await SaveAsync([episode], cancellationToken);
                    episode.Written.TrySetResult();
                }
                catch (Exception alone) when (alone is not OperationCanceledException)
                {
                    episode.Written.TrySetException(alone);
                }
            }
        }
    }

    private async Task SaveAsync(IReadOnlyList<GroupCommit<Episode>.Pending> episodes, CancellationToken cancellationToken)
    {
        await using var batch = _transitions.CreateBatch();
        foreach (var command in episodes.SelectMany(episode => episode.Item.Commands()))
        {
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A child workflow starts unless one with its id is still running (a replayed episode never starts it twice: episodes commit whole).</summary>
    private NpgsqlBatchCommand StartChild(TaskMessage message, ExecutionStartedEvent started)
    {
        var command = new NpgsqlBatchCommand(
            $"""
            WITH created AS ({UpsertInstanceSql} WHERE w.completed_at IS NOT NULL RETURNING w.app_id, w.instance_id)
            INSERT INTO workflow_events (app_id, instance_id, visible_at, message) SELECT app_id, instance_id, $7, $8 FROM created
            """);
        AddInstanceParameters(command.Parameters, message, started);
        command.Parameters.Add(new() { Value = VisibleAt(message) });
        command.Parameters.Add(new() { Value = WorkflowJson.Write(message) });
        return command;
    }

    internal async Task ReleaseOrchestrationAsync(TaskOrchestrationWorkItem workItem, OrchestrationLock held, TimeSpan retryAfter)
    {
        await using var release = _transitions.CreateCommand(
            "UPDATE workflow_instances SET lock_token = NULL, locked_until = now() + $4 WHERE app_id = $1 AND instance_id = $2 AND lock_token = $3");
        release.Parameters.Add(new() { Value = _appId });
        release.Parameters.Add(new() { Value = workItem.InstanceId });
        release.Parameters.Add(new() { Value = held.Token });
        release.Parameters.Add(new() { Value = retryAfter });
        if (await release.ExecuteNonQueryAsync() > 0)
        {
            OrchestrationsDue.Notify();
        }
    }

    // ---- Activity work items ------------------------------------------------------------------

    /// <summary>Claims up to <paramref name="batch"/> scheduled activities under one lock token; waits for work when none is ready.</summary>
    internal async Task<IReadOnlyList<(TaskActivityWorkItem WorkItem, Guid Token)>> LockNextActivitiesAsync(
        int batch, TimeSpan receiveTimeout, CancellationToken cancellationToken)
    {
        var giveUpAt = receiveTimeout == Timeout.InfiniteTimeSpan ? DateTime.MaxValue : DateTime.UtcNow + receiveTimeout;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var token = Guid.NewGuid();

            // SKIP LOCKED: concurrent dispatchers each take different activities; an expired lock is taken over.
            await using var claim = _transitions.CreateCommand(
                """
                WITH claimed AS (
                    UPDATE workflow_activities SET lock_token = $2, locked_until = now() + $3
                    WHERE seq IN (
                        SELECT seq FROM workflow_activities
                        WHERE app_id = $1 AND (locked_until IS NULL OR locked_until < now())
                        ORDER BY seq
                        LIMIT $4
                        FOR UPDATE SKIP LOCKED)
                    RETURNING seq, message, locked_until)
                -- In the order they were scheduled (RETURNING keeps no order).
                SELECT seq, message, locked_until FROM claimed ORDER BY seq
                """);
            claim.Parameters.Add(new() { Value = _appId });
            claim.Parameters.Add(new() { Value = token });
            claim.Parameters.Add(new() { Value = _options.LockTimeout });
            claim.Parameters.Add(new() { Value = batch });
            var claimed = new List<(TaskActivityWorkItem WorkItem, Guid Token)>();
            await using (var reader = await claim.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    claimed.Add((new TaskActivityWorkItem
                    {
                        Id = reader.GetInt64(0).ToString(System.Globalization.CultureInfo.InvariantCulture),
                        TaskMessage = WorkflowJson.ReadMessage(reader.GetString(1)),
                        LockedUntilUtc = reader.GetDateTime(2),
                    }, token));
                }
            }

            if (claimed.Count > 0)
            {
                return claimed;
            }

            var wait = giveUpAt - DateTime.UtcNow < _options.IdlePollInterval ? giveUpAt - DateTime.UtcNow : _options.IdlePollInterval;
            if (wait <= TimeSpan.Zero)
            {
                return [];
            }

            await ActivitiesDue.WaitAsync(wait, cancellationToken);
        }
    }

    /// <summary>
    /// Hands an activity's result to its instance, once: the activity row goes in the same statement,
    /// and only if this worker still holds it (an activity runs at least once; its effects must be idempotent).
    /// Returns when the result is written, together with the others that came meanwhile.
    /// </summary>
    internal Task CompleteActivityAsync(TaskActivityWorkItem workItem, Guid token, TaskMessage response) =>
        _activityResults.AddAsync(new ActivityResult(
            long.Parse(workItem.Id, System.Globalization.CultureInfo.InvariantCulture), token, WorkflowJson.Write(response)));

    /// <summary>
    /// A lock renewal touches the same activity rows in another order, so the two can deadlock; PostgreSQL
    /// then rolls one back whole, and the write is simply done again.
    /// </summary>
    private async Task WriteWithRetryAsync(IReadOnlyList<GroupCommit<ActivityResult>.Pending> results, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await WriteAsync(results, cancellationToken);
                return;
            }
            catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.DeadlockDetected && attempt < 3)
            {
            }
        }
    }

    private async Task WriteAsync(IReadOnlyList<GroupCommit<ActivityResult>.Pending> results, CancellationToken cancellationToken)
    {
        await using var complete = _transitions.CreateCommand(
            """
            WITH result AS (SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[]) AS r(seq, lock_token, message)),
            done AS (
                DELETE FROM workflow_activities a USING result r
                WHERE a.seq = r.seq AND a.lock_token = r.lock_token
                RETURNING a.seq, a.app_id, a.instance_id, r.message)
            INSERT INTO workflow_events (app_id, instance_id, message)
            SELECT d.app_id, d.instance_id, d.message FROM done d
            JOIN workflow_instances i ON i.app_id = d.app_id AND i.instance_id = d.instance_id
            WHERE i.completed_at IS NULL
            ORDER BY d.seq
            """);
        complete.Parameters.Add(new() { Value = results.Select(result => result.Item.Seq).ToArray() });
        complete.Parameters.Add(new() { Value = results.Select(result => result.Item.Token).ToArray() });
        complete.Parameters.Add(new() { Value = results.Select(result => result.Item.Message).ToArray() });
        if (await complete.ExecuteNonQueryAsync(cancellationToken) > 0)
        {
            OrchestrationsDue.Notify();
        }
    }

    internal async Task ReleaseActivityAsync(TaskActivityWorkItem workItem, Guid token, TimeSpan retryAfter)
    {
        await using var release = _transitions.CreateCommand("UPDATE workflow_activities SET lock_token = NULL, locked_until = now() + $3 WHERE seq = $1 AND lock_token = $2");
        release.Parameters.Add(new() { Value = long.Parse(workItem.Id, System.Globalization.CultureInfo.InvariantCulture) });
        release.Parameters.Add(new() { Value = token });
        release.Parameters.Add(new() { Value = retryAfter });
        await release.ExecuteNonQueryAsync();
    }

    /// <summary>Keeps the locks of live worker connections from expiring while the app runs their work items.</summary>
    private async Task RenewLocksAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.LockTimeout / 3);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                var tokens = _sessions.Keys.SelectMany(session => session.LockTokens()).ToArray();
                if (tokens.Length == 0)
                {
                    continue;
                }

                try
                {
                    await RenewAsync(tokens, cancellationToken);
                }
                catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
                {
                    LogLockRenewalFailed(_logger, _appId, exception);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    internal async Task RenewAsync(Guid[] tokens, CancellationToken cancellationToken = default)
    {
        await using var batch = _transitions.CreateBatch();
        batch.BatchCommands.Add(Command("UPDATE workflow_instances SET locked_until = now() + $2 WHERE lock_token = ANY($1)", tokens, _options.LockTimeout));
        batch.BatchCommands.Add(Command("UPDATE workflow_activities SET locked_until = now() + $2 WHERE lock_token = ANY($1)", tokens, _options.LockTimeout));
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    // ---- Client -------------------------------------------------------------------------------

    private const string UpsertInstanceSql =
        """
        INSERT INTO workflow_instances AS w (app_id, instance_id, execution_id, name, status, state)
        VALUES ($1, $2, $3, $4, $5, $6)
        ON CONFLICT (app_id, instance_id) DO UPDATE
        SET execution_id = excluded.execution_id, name = excluded.name, status = excluded.status, state = excluded.state,
            history = '[]', created_at = now(), updated_at = now(), completed_at = NULL, lock_token = NULL, locked_until = NULL
        """;

    /// <summary>An event for an instance that has ended, or never existed, is dropped.</summary>
    private const string SendEventSql =
        """
        INSERT INTO workflow_events (app_id, instance_id, visible_at, message)
        SELECT $1, $2, $3, $4
        WHERE EXISTS (SELECT 1 FROM workflow_instances WHERE app_id = $1 AND instance_id = $2 AND completed_at IS NULL)
        """;

    private void AddInstanceParameters(NpgsqlParameterCollection parameters, TaskMessage message, ExecutionStartedEvent started)
    {
        var now = DateTime.UtcNow;
        var state = new OrchestrationState
        {
            OrchestrationInstance = message.OrchestrationInstance,
            ParentInstance = started.ParentInstance,
            Name = started.Name,
            Version = started.Version,
            Input = started.Input,
            Tags = started.Tags,
            OrchestrationStatus = OrchestrationStatus.Pending,
            CreatedTime = now,
            LastUpdatedTime = now,
            ScheduledStartTime = started.ScheduledStartTime,
        };
        parameters.Add(new() { Value = _appId });
        parameters.Add(new() { Value = message.OrchestrationInstance.InstanceId });
        parameters.Add(new() { Value = message.OrchestrationInstance.ExecutionId ?? "" });
        parameters.Add(new() { Value = started.Name ?? "" });
        parameters.Add(new() { Value = (int)OrchestrationStatus.Pending });
        parameters.Add(new() { Value = WorkflowJson.Write(state) });
    }

    public Task CreateTaskOrchestrationAsync(TaskMessage creationMessage) => CreateTaskOrchestrationAsync(creationMessage, ActiveStatuses);

    public async Task CreateTaskOrchestrationAsync(TaskMessage creationMessage, OrchestrationStatus[]? dedupeStatuses)
    {
        var instanceId = creationMessage.OrchestrationInstance.InstanceId;

        // One statement: a replaced instance takes nothing of its previous execution with it (the
        // deletes see the rows from before the statement, never the new start event).
        await using var create = _db.CreateCommand(
            $"""
            WITH created AS ({UpsertInstanceSql} WHERE NOT (w.status = ANY($7)) RETURNING w.app_id, w.instance_id),
            old_events AS (DELETE FROM workflow_events e USING created c WHERE e.app_id = c.app_id AND e.instance_id = c.instance_id),
            old_activities AS (DELETE FROM workflow_activities a USING created c WHERE a.app_id = c.app_id AND a.instance_id = c.instance_id)
            INSERT INTO workflow_events (app_id, instance_id, visible_at, message) SELECT app_id, instance_id, $8, $9 FROM created
            """);
        AddInstanceParameters(create.Parameters, creationMessage, (ExecutionStartedEvent)creationMessage.Event);
        create.Parameters.Add(new() { Value = (dedupeStatuses ?? ActiveStatuses).Select(s => (int)s).ToArray() });
        create.Parameters.Add(new() { Value = VisibleAt(creationMessage) });
        create.Parameters.Add(new() { Value = WorkflowJson.Write(creationMessage) });
        if (await create.ExecuteNonQueryAsync() == 0)
        {
            throw new OrchestrationAlreadyExistsException($"An active workflow with ID '{instanceId}' already exists.");
        }

        OrchestrationsDue.Notify();
    }

    public async Task SendTaskOrchestrationMessageAsync(TaskMessage message)
    {
        await using var send = _db.CreateCommand(SendEventSql);
        foreach (var value in new object[] { _appId, message.OrchestrationInstance.InstanceId, VisibleAt(message), WorkflowJson.Write(message) })
        {
            send.Parameters.Add(new() { Value = value });
        }

        if (await send.ExecuteNonQueryAsync() > 0)
        {
            OrchestrationsDue.Notify();
        }
    }

    public async Task SendTaskOrchestrationMessageBatchAsync(params TaskMessage[] messages)
    {
        foreach (var message in messages)
        {
            await SendTaskOrchestrationMessageAsync(message);
        }
    }

    public Task ForceTerminateTaskOrchestrationAsync(string instanceId, string? reason) =>
        SendTaskOrchestrationMessageAsync(new TaskMessage
        {
            OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId },
            Event = new ExecutionTerminatedEvent(-1, reason),
        });

    /// <summary>
    /// Terminates the instance and, when <paramref name="recursive"/> (what Dapr.Workflow asks), every child
    /// and grandchild workflow still running, as daprd does.
    /// </summary>
    internal async Task TerminateAsync(string instanceId, string? reason, bool recursive)
    {
        await ForceTerminateTaskOrchestrationAsync(instanceId, reason);
        if (recursive)
        {
            foreach (var descendant in await RunningDescendantsAsync(instanceId))
            {
                await ForceTerminateTaskOrchestrationAsync(descendant, reason);
            }
        }
    }

    /// <summary>Child workflows of any depth (each state names its parent), found where a terminate or purge needs them.</summary>
    private const string Descendants =
        """
        WITH RECURSIVE tree(instance_id) AS (
            SELECT $2::text
            UNION
            SELECT w.instance_id FROM workflow_instances w JOIN tree ON w.state::jsonb #>> '{ParentInstance,OrchestrationInstance,InstanceId}' = tree.instance_id
            WHERE w.app_id = $1)
        """;

    private async Task<List<string>> RunningDescendantsAsync(string instanceId)
    {
        await using var read = _db.CreateCommand(
            Descendants + " SELECT w.instance_id FROM workflow_instances w JOIN tree USING (instance_id) WHERE w.app_id = $1 AND w.instance_id <> $2 AND w.completed_at IS NULL");
        read.Parameters.Add(new() { Value = _appId });
        read.Parameters.Add(new() { Value = instanceId });
        var ids = new List<string>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public async Task<OrchestrationState> GetOrchestrationStateAsync(string instanceId, string? executionId)
    {
        await using var read = _db.CreateCommand("SELECT state FROM workflow_instances WHERE app_id = $1 AND instance_id = $2");
        read.Parameters.Add(new() { Value = _appId });
        read.Parameters.Add(new() { Value = instanceId });
        if (await read.ExecuteScalarAsync() is not string json)
        {
            return null!;
        }

        var state = WorkflowJson.ReadState(json);
        return executionId is null || executionId == state.OrchestrationInstance.ExecutionId ? state : null!;
    }

    public async Task<IList<OrchestrationState>> GetOrchestrationStateAsync(string instanceId, bool allExecutions) =>
        await GetOrchestrationStateAsync(instanceId, executionId: null) is { } state ? [state] : [];

    public async Task<string> GetOrchestrationHistoryAsync(string instanceId, string? executionId)
    {
        await using var read = _db.CreateCommand("SELECT history FROM workflow_instances WHERE app_id = $1 AND instance_id = $2");
        read.Parameters.Add(new() { Value = _appId });
        read.Parameters.Add(new() { Value = instanceId });
        return await read.ExecuteScalarAsync() as string ?? "[]";
    }

    internal async Task<IList<HistoryEvent>?> GetHistoryAsync(string instanceId) =>
        await GetOrchestrationStateAsync(instanceId, executionId: null) is null ? null : WorkflowJson.ReadHistory(await GetOrchestrationHistoryAsync(instanceId, null));

    /// <summary>One page of this app's instance ids, in id order, after <paramref name="after"/>.</summary>
    internal async Task<IReadOnlyList<string>> ListInstanceIdsAsync(string? after, int pageSize, CancellationToken cancellationToken)
    {
        await using var list = _db.CreateCommand("SELECT instance_id FROM workflow_instances WHERE app_id = $1 AND instance_id > $2 ORDER BY instance_id LIMIT $3");
        list.Parameters.Add(new() { Value = _appId });
        list.Parameters.Add(new() { Value = after ?? "" });
        list.Parameters.Add(new() { Value = pageSize });
        var ids = new List<string>();
        await using var reader = await list.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    public async Task<OrchestrationState> WaitForOrchestrationAsync(string instanceId, string executionId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan)
        {
            deadline.CancelAfter(timeout);
        }

        TaskCompletionSource? ending = null;
        try
        {
            while (true)
            {
                // Registered before reading, so that an ending between the read and the wait is not missed.
                ending = _endings.GetOrAdd(instanceId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
                if (await GetOrchestrationStateAsync(instanceId, executionId: null) is { } state && Ended.Contains(state.OrchestrationStatus))
                {
                    return state;
                }

                try
                {
                    await ending.Task.WaitAsync(_options.IdlePollInterval, deadline.Token);
                }
                catch (TimeoutException)
                {
                }
            }
        }
        finally
        {
            // An instance that had already ended, or a wait given up, must not leave its entry behind; other waiters re-register.
            if (ending is not null && _endings.TryRemove(KeyValuePair.Create(instanceId, ending)))
            {
                ending.TrySetResult();
            }
        }
    }

    // ---- Purge --------------------------------------------------------------------------------

    /// <summary>Purges the instance if it has ended and, when <paramref name="recursive"/>, its ended child workflows of any depth.</summary>
    internal async Task<int> PurgeAsync(string instanceId, bool recursive)
    {
        if (!recursive)
        {
            return (await PurgeInstanceStateAsync(instanceId)).DeletedInstanceCount;
        }

        await using var purge = _db.CreateCommand(
            Descendants + " DELETE FROM workflow_instances w USING tree WHERE w.app_id = $1 AND w.instance_id = tree.instance_id AND w.completed_at IS NOT NULL");
        purge.Parameters.Add(new() { Value = _appId });
        purge.Parameters.Add(new() { Value = instanceId });
        return await purge.ExecuteNonQueryAsync();
    }

    public async Task<PurgeResult> PurgeInstanceStateAsync(string instanceId)
    {
        await using var purge = _db.CreateCommand("DELETE FROM workflow_instances WHERE app_id = $1 AND instance_id = $2 AND completed_at IS NOT NULL");
        purge.Parameters.Add(new() { Value = _appId });
        purge.Parameters.Add(new() { Value = instanceId });
        return new PurgeResult(await purge.ExecuteNonQueryAsync());
    }

    public async Task<PurgeResult> PurgeInstanceStateAsync(PurgeInstanceFilter purgeInstanceFilter)
    {
        var statuses = (purgeInstanceFilter.RuntimeStatus?.Any() == true ? purgeInstanceFilter.RuntimeStatus : Ended).Select(s => (int)s).ToArray();
        await using var purge = _db.CreateCommand(
            """
            DELETE FROM workflow_instances
            WHERE app_id = $1 AND completed_at IS NOT NULL AND created_at >= $2 AND ($3::timestamptz IS NULL OR created_at <= $3) AND status = ANY($4)
            """);
        purge.Parameters.Add(new() { Value = _appId });
        purge.Parameters.Add(new() { Value = DateTime.SpecifyKind(purgeInstanceFilter.CreatedTimeFrom, DateTimeKind.Utc) });
        purge.Parameters.Add(new() { Value = purgeInstanceFilter.CreatedTimeTo is { } to ? DateTime.SpecifyKind(to, DateTimeKind.Utc) : DBNull.Value, NpgsqlDbType = NpgsqlDbType.TimestampTz });
        purge.Parameters.Add(new() { Value = statuses });
        return new PurgeResult(await purge.ExecuteNonQueryAsync());
    }

    public async Task PurgeOrchestrationHistoryAsync(DateTime thresholdDateTimeUtc, OrchestrationStateTimeRangeFilterType timeRangeFilterType)
    {
        var column = timeRangeFilterType switch
        {
            OrchestrationStateTimeRangeFilterType.OrchestrationCreatedTimeFilter => "created_at",
            OrchestrationStateTimeRangeFilterType.OrchestrationLastUpdatedTimeFilter => "updated_at",
            _ => "completed_at",
        };
        await using var purge = _db.CreateCommand($"DELETE FROM workflow_instances WHERE app_id = $1 AND completed_at IS NOT NULL AND {column} < $2");
        purge.Parameters.Add(new() { Value = _appId });
        purge.Parameters.Add(new() { Value = DateTime.SpecifyKind(thresholdDateTimeUtc, DateTimeKind.Utc) });
        await purge.ExecuteNonQueryAsync();
    }

    // ---- Helpers ------------------------------------------------------------------------------

    private static DateTime VisibleAt(TaskMessage message)
    {
        var at = message.Event switch
        {
            TimerFiredEvent timer => timer.FireAt,
            ExecutionStartedEvent { ScheduledStartTime: { } scheduled } => scheduled,
            _ => DateTime.UtcNow,
        };
        return at.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(at, DateTimeKind.Utc) : at.ToUniversalTime();
    }

    private static OrchestrationState StateOf(OrchestrationRuntimeState runtimeState) => new()
    {
        OrchestrationInstance = runtimeState.OrchestrationInstance,
        ParentInstance = runtimeState.ParentInstance,
        Name = runtimeState.Name,
        Version = runtimeState.Version,
        Status = runtimeState.Status,
        Tags = runtimeState.Tags,
        OrchestrationStatus = runtimeState.OrchestrationStatus,
        CreatedTime = runtimeState.CreatedTime,
        CompletedTime = runtimeState.CompletedTime,
        LastUpdatedTime = DateTime.UtcNow,
        Input = runtimeState.Input,
        Output = runtimeState.Output,
    };

    private static NpgsqlBatchCommand Command(string sql, params object[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    public void Dispose()
    {
        _disposed.Cancel();
        _disposed.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the workflow locks of {AppId} failed; they are renewed again at the next tick")]
    private static partial void LogLockRenewalFailed(ILogger logger, string appId, Exception exception);

    internal sealed class WakeUp : WakeUpSignal;
}

/// <summary>An activity's result to be written.</summary>
internal sealed record ActivityResult(long Seq, Guid Token, string Message);

/// <summary>An instance as an episode leaves it, serialized.</summary>
internal sealed record SavedInstance(string InstanceId, string ExecutionId, string Name, OrchestrationStatus Status, string State, string History, bool Ended);

/// <summary>An episode to be saved: its statements, made afresh each time it is written (a batch that failed is written again one episode at a time).</summary>
internal sealed record Episode(Func<IEnumerable<NpgsqlBatchCommand>> Commands);

/// <summary>An orchestration work item's claim: its lock token and the events it consumes.</summary>
internal sealed record OrchestrationLock(Guid Token, long[] EventSeqs);

/// <summary>The work item's lock expired and another dispatcher took the instance over: this episode is not saved.</summary>
internal sealed class LockLostException(string instanceId) : Exception($"The lock on workflow instance '{instanceId}' was lost; its episode is not saved.");
