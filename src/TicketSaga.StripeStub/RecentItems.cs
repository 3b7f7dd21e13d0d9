using System.Collections.Concurrent;

namespace TicketSaga.StripeStub;

/// <summary>
/// Items in the order they came, each forgotten once older than the retention: what the stub holds in
/// memory of what Stripe keeps for hours or days. Ages run on the monotonic clock. Anyone may add;
/// only <see cref="Forget"/> takes, under a lock, so the oldest item it looked at is the one it removes.
/// </summary>
internal sealed class RecentItems<T>(TimeSpan retention)
{
    private readonly ConcurrentQueue<(T Item, long At)> _items = new();
    private readonly Lock _gate = new();

    /// <summary>The items not yet forgotten, oldest first.</summary>
    public IEnumerable<T> Items => _items.Select(i => i.Item);

    /// <param name="age">How old the item already is (one replayed from a journal).</param>
    public void Add(T item, TimeSpan age = default) => _items.Enqueue((item, Environment.TickCount64 - (long)age.TotalMilliseconds));

    /// <summary>Removes the items older than the retention, oldest first, handing each to <paramref name="forgotten"/>.</summary>
    public void Forget(Action<T>? forgotten = null)
    {
        var cutoff = Environment.TickCount64 - (long)retention.TotalMilliseconds;
        lock (_gate)
        {
            while (_items.TryPeek(out var oldest) && oldest.At < cutoff)
            {
                _items.TryDequeue(out _);
                forgotten?.Invoke(oldest.Item);
            }
        }
    }
}
