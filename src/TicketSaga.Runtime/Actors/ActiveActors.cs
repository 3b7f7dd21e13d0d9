using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TicketSaga.Runtime.Actors;

public sealed record ActorKey(string Type, string Id)
{
    public override string ToString() => $"{Type}/{Id}";
}

/// <summary>
/// The activated actors of the whole runtime: turn-based concurrency (one call at a time per actor
/// id, method calls and timer and reminder callbacks alike), in-memory timers per activation, and
/// deactivation (<c>DELETE /actors/{type}/{id}</c> on the app) after the type's idle timeout.
/// </summary>
public sealed partial class ActiveActors(ActorPlacement placement, AppActorChannel channel, ILogger<ActiveActors> logger) : BackgroundService
{
    private readonly ConcurrentDictionary<ActorKey, Activation> _activations = new();

    public int Count => _activations.Count;

    /// <summary>How many actors of <paramref name="actorType"/> are active now.</summary>
    public int CountOf(string actorType) => _activations.Keys.Count(actor => actor.Type == actorType);

    /// <summary>Runs <paramref name="turn"/> when no other call of this actor is running, activating it if needed.</summary>
    public async Task<T> RunTurnAsync<T>(ActorKey actor, Func<Task<T>> turn, CancellationToken cancellationToken)
    {
        while (true)
        {
            var activation = _activations.GetOrAdd(actor, _ => new Activation());
            Interlocked.Increment(ref activation.Waiting);
            try
            {
                await activation.Turn.WaitAsync(cancellationToken);
            }
            finally
            {
                Interlocked.Decrement(ref activation.Waiting);
            }

            try
            {
                // Deactivated while we waited: the next call runs on a fresh activation, like a new placement.
                if (activation.Deactivated)
                {
                    continue;
                }

                return await turn();
            }
            finally
            {
                Volatile.Write(ref activation.LastUsedMs, Environment.TickCount64);
                activation.Turn.Release();
            }
        }
    }

    /// <summary>Creates or replaces a timer of an actor (activating it); its callback runs as a turn.</summary>
    public void RegisterTimer(ActorKey actor, string name, ActorSchedule schedule, string registration)
    {
        var activation = _activations.GetOrAdd(actor, _ => new Activation());
        var timer = new CancellationTokenSource();
        lock (activation.Timers)
        {
            if (activation.Timers.Remove(name, out var previous))
            {
                previous.Cancel();
            }

            activation.Timers[name] = timer;
        }

        _ = RunTimerAsync(actor, activation, name, schedule, registration, timer);
    }

    public void UnregisterTimer(ActorKey actor, string name)
    {
        if (_activations.TryGetValue(actor, out var activation))
        {
            lock (activation.Timers)
            {
                if (activation.Timers.Remove(name, out var timer))
                {
                    timer.Cancel();
                }
            }
        }
    }

    /// <summary>Forgets the activations of types whose app went away (their timers stop).</summary>
    internal void Forget(IReadOnlyCollection<string> actorTypes)
    {
        foreach (var (actor, activation) in _activations)
        {
            if (actorTypes.Contains(actor.Type) && _activations.TryRemove(actor, out _))
            {
                activation.Deactivated = true;
                activation.CancelTimers();
            }
        }
    }

    private async Task RunTimerAsync(ActorKey actor, Activation activation, string name, ActorSchedule schedule, string registration, CancellationTokenSource timer)
    {
        var fireAt = schedule.FirstFireAt;
        var fired = 0;
        try
        {
            while (!timer.IsCancellationRequested)
            {
                var delay = fireAt - DateTimeOffset.UtcNow;
                if (delay > TimeSpan.Zero)
                {
                    await Task.Delay(delay, timer.Token);
                }

                if (schedule.ExpiresAt <= DateTimeOffset.UtcNow || activation.Deactivated || placement.Find(actor.Type) is not { } host)
                {
                    break;
                }

                await RunTurnAsync(actor, async () =>
                {
                    if (!timer.IsCancellationRequested && !await channel.InvokeTimerAsync(host, actor, name, registration, timer.Token))
                    {
                        LogTimerFailed(logger, name, actor);
                    }

                    return true;
                }, timer.Token);

                fired++;
                if (schedule.Period is not { } period || fired >= schedule.Repetitions)
                {
                    break;
                }

                fireAt = schedule.NextAfter(fireAt, DateTimeOffset.UtcNow);
            }
        }
        catch (OperationCanceledException) when (timer.IsCancellationRequested)
        {
        }
        catch (HttpRequestException ex)
        {
            LogTimerAppUnreachable(logger, ex, name, actor);
        }
        finally
        {
            lock (activation.Timers)
            {
                if (activation.Timers.TryGetValue(name, out var current) && current == timer)
                {
                    activation.Timers.Remove(name);
                }
            }

            timer.Dispose();
        }
    }

    /// <summary>The idle scan: deactivates actors that had no call for their type's idle timeout.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var hosts = placement.Hosts;
            var scanInterval = hosts.Count == 0 ? TimeSpan.FromSeconds(1) : hosts.Min(h => h.Settings.ScanInterval);
            await Task.Delay(scanInterval < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : scanInterval, stoppingToken);
            foreach (var (actor, activation) in _activations)
            {
                if (placement.Find(actor.Type) is { } host && activation.IsIdle(host.Settings.IdleTimeout))
                {
                    await DeactivateAsync(actor, activation, host, stoppingToken);
                }
            }
        }
    }

    private async Task DeactivateAsync(ActorKey actor, Activation activation, ActorHost host, CancellationToken cancellationToken)
    {
        if (!await activation.Turn.WaitAsync(0, cancellationToken))
        {
            return;
        }

        try
        {
            if (!activation.IsIdle(host.Settings.IdleTimeout, turnHeld: true))
            {
                return;
            }

            activation.Deactivated = true;
            _activations.TryRemove(actor, out _);
            activation.CancelTimers();
            await channel.DeactivateAsync(host, actor, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            LogDeactivationFailed(logger, ex, actor);
        }
        finally
        {
            activation.Turn.Release();
        }
    }

    [System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "The semaphore never allocates a wait handle, and late waiters may still hold a removed activation.")]
    private sealed class Activation
    {
        public readonly SemaphoreSlim Turn = new(1, 1);
        public readonly Dictionary<string, CancellationTokenSource> Timers = new(StringComparer.Ordinal);
        public int Waiting;
        public volatile bool Deactivated;
        public long LastUsedMs = Environment.TickCount64;

        public bool IsIdle(TimeSpan idleTimeout, bool turnHeld = false) =>
            Volatile.Read(ref Waiting) == 0 && Turn.CurrentCount == (turnHeld ? 0 : 1)
            && Environment.TickCount64 - Volatile.Read(ref LastUsedMs) >= idleTimeout.TotalMilliseconds;

        public void CancelTimers()
        {
            lock (Timers)
            {
                foreach (var timer in Timers.Values)
                {
                    timer.Cancel();
                }

                Timers.Clear();
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer {Timer} of actor {Actor} failed in the app; it keeps its schedule")]
    private static partial void LogTimerFailed(ILogger logger, string timer, ActorKey actor);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Timer {Timer} of actor {Actor} could not reach its app")]
    private static partial void LogTimerAppUnreachable(ILogger logger, Exception exception, string timer, ActorKey actor);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deactivating actor {Actor} failed; it is forgotten by the runtime anyway")]
    private static partial void LogDeactivationFailed(ILogger logger, Exception exception, ActorKey actor);
}
