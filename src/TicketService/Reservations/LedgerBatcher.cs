using Grpc.Core;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Group commit for a change of existing reservations (finalize, release): what is waiting is stored in
/// one transaction. A flash sale's finalizes and an expiry storm's releases each queued one transaction
/// per request on the few slot rows they move stock on, a commit at a time.
/// </summary>
/// <param name="change">What the requests do, for logs and errors ("release").</param>
public abstract partial class LedgerBatcher<TRequest, TAnswer>(ILogger logger, string change)
    : GroupCommitBatcher<TRequest, TAnswer>
    where TAnswer : class
{
    /// <summary>Stores requests of distinct reservations in one transaction: one outcome each, in their order.</summary>
    protected abstract Task<IReadOnlyList<LedgerOutcome<TAnswer>>> StoreAsync(IReadOnlyList<TRequest> requests, CancellationToken cancellationToken);

    protected abstract Guid ReservationOf(TRequest request);

    protected override async Task DecideAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        var first = FirstOfEach(batch, ReservationOf);

        try
        {
            Answer(first, await StoreAsync([.. first.Select(p => p.Request)], stoppingToken));
        }
        catch (Exception ex) when (first.Count > 1 && ex is not OperationCanceledException)
        {
            // One request's unexpected failure must not fail the others: decide each on its own.
            LogBatchFailed(logger, ex, first.Count, change);
            foreach (var pending in first)
            {
                await DecideAloneAsync(pending, stoppingToken);
            }
        }
        catch (Exception ex)
        {
            first.ForEach(p => p.Answer.TrySetException(Failed(ex, p.Request)));
        }
    }

    private async Task DecideAloneAsync(Pending pending, CancellationToken stoppingToken)
    {
        try
        {
            Answer([pending], await StoreAsync([pending.Request], stoppingToken));
        }
        catch (Exception ex)
        {
            pending.Answer.TrySetException(Failed(ex, pending.Request));
        }
    }

    private static void Answer(List<Pending> batch, IReadOnlyList<LedgerOutcome<TAnswer>> outcomes)
    {
        foreach (var (pending, outcome) in batch.Zip(outcomes))
        {
            if (outcome.Answer is { } answer)
            {
                pending.Answer.TrySetResult(answer);
            }
            else
            {
                pending.Answer.TrySetException(outcome.Error!);
            }
        }
    }

    private RpcException Failed(Exception ex, TRequest request)
    {
        if (ex is OperationCanceledException)
        {
            return ShuttingDown;
        }

        LogFailed(logger, ex, change, ReservationOf(request));
        return new RpcException(new Status(StatusCode.Unavailable, $"The {change} could not be stored; retry it."));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch of {Count} requests ({Change}) failed; deciding them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count, string change);

    [LoggerMessage(Level = LogLevel.Error, Message = "The {Change} of {ReservationId} failed")]
    private static partial void LogFailed(ILogger logger, Exception exception, string change, Guid reservationId);
}
