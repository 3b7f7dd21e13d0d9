using System.Threading.Channels;

namespace TicketSaga.Runtime.Postgres;

/// <summary>
/// A group commit: the items handed in while one write is under way go together in the next (up to
/// a batch), one round trip and one commit for many callers; each caller returns when its item is
/// written. A write that throws fails every item of its batch it did not settle itself.
/// </summary>
internal sealed class GroupCommit<T>
{
    private readonly Channel<Pending> _pending = Channel.CreateUnbounded<Pending>(new() { SingleReader = true });
    private readonly int _batch;
    private readonly Func<IReadOnlyList<Pending>, CancellationToken, Task> _write;

    /// <param name="stopping">Cancelled: the write under way is cancelled and items not yet written fail.</param>
    public GroupCommit(int batch, Func<IReadOnlyList<Pending>, CancellationToken, Task> write, CancellationToken stopping = default)
    {
        _batch = batch;
        _write = write;
        Writing = WriteAllAsync(stopping);
    }

    /// <summary>Ends once <see cref="Complete"/> was called and every item taken is written, or when stopped.</summary>
    public Task Writing { get; }

    public Task AddAsync(T item, CancellationToken cancellationToken = default)
    {
        var pending = new Pending(item);
        ObjectDisposedException.ThrowIf(!_pending.Writer.TryWrite(pending), this);
        return pending.Written.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Takes no more items; those already taken are still written.</summary>
    public void Complete() => _pending.Writer.TryComplete();

    private async Task WriteAllAsync(CancellationToken stopping)
    {
        await Task.Yield();
        var batch = new List<Pending>(_batch);
        try
        {
            while (await _pending.Reader.WaitToReadAsync(stopping))
            {
                while (batch.Count < _batch && _pending.Reader.TryRead(out var pending))
                {
                    batch.Add(pending);
                }

                try
                {
                    await _write(batch, stopping);
                    batch.ForEach(written => written.Written.TrySetResult());
                }
                catch (Exception exception)
                {
                    batch.ForEach(failed => failed.Written.TrySetException(exception));
                }

                batch.Clear();
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _pending.Writer.TryComplete();
            while (_pending.Reader.TryRead(out var unwritten))
            {
                unwritten.Written.TrySetCanceled(CancellationToken.None);
            }
        }
    }

    /// <summary>An item waiting to be written, and who waits for it.</summary>
    internal sealed record Pending(T Item)
    {
        public TaskCompletionSource Written { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
