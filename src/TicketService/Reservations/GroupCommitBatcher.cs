using System.Threading.Channels;
using Grpc.Core;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Group commit for one kind of request: concurrent requests queue here and a few workers each take
/// what is waiting (up to a batch) and decide it in as few transactions as they can, so one commit
/// (one WAL flush) serves many callers. Every request still gets its own answer.
/// </summary>
public abstract class GroupCommitBatcher<TRequest, TAnswer> : BackgroundService
{
    private const int MaxBatch = 128;

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();

    protected sealed record Pending(TRequest Request, TaskCompletionSource<TAnswer> Answer);

    protected static RpcException ShuttingDown => new(new Status(StatusCode.Unavailable, "The ticket service is shutting down."));

    protected async Task<TAnswer> SubmitAsync(TRequest request, CancellationToken cancellationToken)
    {
        var pending = new Pending(request, new TaskCompletionSource<TAnswer>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            throw ShuttingDown;
        }

        // A caller that gives up does not undo what its request does: a retry finds it done.
        return await pending.Answer.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Answers every request of the batch, or puts some back with <see cref="FirstOfEach{TKey}"/> for the next one.</summary>
    protected abstract Task DecideAsync(List<Pending> batch, CancellationToken stoppingToken);

    /// <summary>
    /// The first request of each key; the others wait for the next batch, which answers them from what
    /// the first one stored (one transaction must not hold the same id twice).
    /// </summary>
    protected List<Pending> FirstOfEach<TKey>(List<Pending> batch, Func<TRequest, TKey> key)
    {
        var first = batch.DistinctBy(p => key(p.Request)).ToList();
        foreach (var duplicate in batch.Except(first))
        {
            if (!_queue.Writer.TryWrite(duplicate))
            {
                duplicate.Answer.TrySetException(ShuttingDown);
            }
        }

        return first;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = Enumerable.Range(0, Math.Max(2, Environment.ProcessorCount * 2)).Select(_ => RunWorkerAsync(stoppingToken));
        try
        {
            await Task.WhenAll(workers);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            _queue.Writer.TryComplete();
            while (_queue.Reader.TryRead(out var pending))
            {
                pending.Answer.TrySetException(ShuttingDown);
            }
        }
    }

    private async Task RunWorkerAsync(CancellationToken stoppingToken)
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync(stoppingToken))
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            await DecideAsync(batch, stoppingToken);
            batch.Clear();
        }
    }
}
