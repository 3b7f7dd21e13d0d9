using System.Threading.Channels;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// Wakes a background worker right after a commit that gave it work; work written by other replicas
/// is found by its polling. One subclass per worker, so that each is its own singleton.
/// </summary>
public abstract class WakeUpSignal
{
    // One pending wake-up is enough: the worker does everything due when it wakes.
    private readonly Channel<bool> _pending = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Notify() => _pending.Writer.TryWrite(true);

    /// <summary>Returns when notified or after <paramref name="timeout"/>.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            await _pending.Reader.ReadAsync(timeoutSource.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
        }
    }
}
