using System.Collections.Concurrent;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Actors;

/// <summary>An actor type and the app that hosts it.</summary>
public sealed record ActorHost(string ActorType, AppDescriptor App, ActorTypeSettings Settings);

/// <summary>
/// Runtime-wide placement: each actor type lives on the one app that declared it in <c>/dapr/config</c>
/// (all sidecars share this process, so every sidecar routes through the same table).
/// </summary>
public sealed class ActorPlacement
{
    /// <summary>How long a call for an unknown type waits for apps whose discovery is still running.</summary>
    private static readonly TimeSpan PendingDiscoveryWait = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, ActorHost> _hosts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _discoveries = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = NewSignal();

    public IReadOnlyCollection<ActorHost> Hosts => [.. _hosts.Values];

    public ActorHost? Find(string actorType) => _hosts.GetValueOrDefault(actorType);

    /// <summary>Completes when the app's <c>/dapr/config</c> has been read (or it has no actors); faults on a type conflict.</summary>
    public Task WhenDiscoveredAsync(string appId, CancellationToken cancellationToken = default) =>
        Discovery(appId).Task.WaitAsync(cancellationToken);

    /// <summary>The host of <paramref name="actorType"/>, waiting briefly while some app's discovery is still running.</summary>
    public async Task<ActorHost?> ResolveAsync(string actorType, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + PendingDiscoveryWait;
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                changed = _changed.Task;
            }

            if (Find(actorType) is { } host)
            {
                return host;
            }

            var remaining = deadline - DateTimeOffset.UtcNow;
            if (remaining <= TimeSpan.Zero || _discoveries.Values.All(d => d.Task.IsCompleted))
            {
                return null;
            }

            try
            {
                await changed.WaitAsync(remaining < TimeSpan.FromMilliseconds(200) ? remaining : TimeSpan.FromMilliseconds(200), cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }
    }

    internal void BeginDiscovery(string appId) => Discovery(appId);

    /// <summary>Whether the app's actor types have been placed (none is a placement too).</summary>
    public bool IsDiscovered(string appId) => _discoveries.TryGetValue(appId, out var discovery) && discovery.Task.IsCompletedSuccessfully;

    /// <summary>Places the app's actor types; a type another app already hosts is refused.</summary>
    internal void Place(AppDescriptor app, IReadOnlyDictionary<string, ActorTypeSettings> types)
    {
        lock (_gate)
        {
            var conflict = types.Keys.FirstOrDefault(t => _hosts.TryGetValue(t, out var existing) && !existing.App.AppId.Equals(app.AppId, StringComparison.OrdinalIgnoreCase));
            if (conflict is not null)
            {
                var error = new InvalidOperationException(
                    $"Actor type '{conflict}' is declared by app '{app.AppId}' but already hosted by app '{_hosts[conflict].App.AppId}'; an actor type lives on exactly one app.");
                Discovery(app.AppId).TrySetException(error);
                Changed();
                throw error;
            }

            foreach (var (type, settings) in types)
            {
                _hosts[type] = new ActorHost(type, app, settings);
            }

            Discovery(app.AppId).TrySetResult();
            Changed();
        }
    }

    /// <summary>Removes the app's types, e.g. when its sidecar stops.</summary>
    internal IReadOnlyList<string> Remove(string appId)
    {
        lock (_gate)
        {
            var removed = _hosts.Values.Where(h => h.App.AppId.Equals(appId, StringComparison.OrdinalIgnoreCase)).Select(h => h.ActorType).ToList();
            foreach (var type in removed)
            {
                _hosts.TryRemove(type, out _);
            }

            if (_discoveries.TryRemove(appId, out var discovery))
            {
                discovery.TrySetCanceled();
            }

            Changed();
            return removed;
        }
    }

    /// <summary>Signals that placement changed (the reminder scheduler re-reads what it may fire).</summary>
    public Task WhenChangedAsync()
    {
        lock (_gate)
        {
            return _changed.Task;
        }
    }

    private TaskCompletionSource Discovery(string appId) => _discoveries.GetOrAdd(appId, _ => NewSignal());

    private void Changed()
    {
        lock (_gate)
        {
            _changed.TrySetResult();
            _changed = NewSignal();
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
