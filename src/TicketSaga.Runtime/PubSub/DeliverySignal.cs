using System.Collections.Concurrent;

namespace TicketSaga.Runtime.PubSub;

/// <summary>
/// Wakes every delivery loop of this process when something was published or replayed, so that
/// delivery does not wait for the next poll; and counts per topic what was published, so that a loop
/// hands over only the topics that have something new.
/// </summary>
public sealed class DeliverySignal
{
    private readonly ConcurrentDictionary<(string PubsubName, string Topic), long> _topicVersions = new();
    private long _everythingVersion;
    private TaskCompletionSource _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes at the next <see cref="Notify()"/>.</summary>
    public Task NextAsync() => Volatile.Read(ref _next).Task;

    /// <summary>Something changed that no topic names (a replay): every topic counts as new.</summary>
    public void Notify()
    {
        Interlocked.Increment(ref _everythingVersion);
        Wake();
    }

    /// <summary>Messages of these topics were published.</summary>
    public void Notify(IEnumerable<(string PubsubName, string Topic)> topics)
    {
        foreach (var topic in topics)
        {
            _topicVersions.AddOrUpdate(topic, 1, (_, version) => version + 1);
        }

        Wake();
    }

    /// <summary>Changes whenever the topic may have something new; read it before reading the log.</summary>
    public long VersionOf((string PubsubName, string Topic) topic) =>
        Volatile.Read(ref _everythingVersion) + _topicVersions.GetValueOrDefault(topic);

    private void Wake() =>
        Interlocked.Exchange(ref _next, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
}
