using Grpc.Core;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Group commit for ReleaseReservation. An expiry storm releases thousands of holds at once, and one
/// transaction each queued them all on the few slot rows they return stock to, a commit at a time.
/// </summary>
public sealed partial class ReleaseBatcher(ReservationLedger ledger, ILogger<ReleaseBatcher> logger)
    : GroupCommitBatcher<ReleaseCommand, ReleasedReservation>
{
    public Task<ReleasedReservation> ReleaseAsync(ReleaseCommand command, CancellationToken cancellationToken) =>
        SubmitAsync(command, cancellationToken);

    protected override async Task DecideAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        var first = FirstOfEach(batch, request => request.ReservationId);

        try
        {
            Answer(first, await ledger.ReleaseAsync([.. first.Select(p => p.Request)], stoppingToken));
        }
        catch (Exception ex) when (first.Count > 1 && ex is not OperationCanceledException)
        {
            // One release's unexpected failure must not fail the others: decide each on its own.
            LogBatchFailed(logger, ex, first.Count);
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
            Answer([pending], await ledger.ReleaseAsync([pending.Request], stoppingToken));
        }
        catch (Exception ex)
        {
            pending.Answer.TrySetException(Failed(ex, pending.Request));
        }
    }

    private static void Answer(List<Pending> batch, IReadOnlyList<ReleaseOutcome> outcomes)
    {
        foreach (var (pending, outcome) in batch.Zip(outcomes))
        {
            if (outcome.Released is { } released)
            {
                pending.Answer.TrySetResult(released);
            }
            else
            {
                pending.Answer.TrySetException(outcome.Error!);
            }
        }
    }

    private RpcException Failed(Exception ex, ReleaseCommand release)
    {
        if (ex is OperationCanceledException)
        {
            return ShuttingDown;
        }

        LogReleaseFailed(logger, ex, release.ReservationId);
        return new RpcException(new Status(StatusCode.Unavailable, "The release could not be stored; retry it."));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch of {Count} releases failed; deciding them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Release of {ReservationId} failed")]
    private static partial void LogReleaseFailed(ILogger logger, Exception exception, Guid reservationId);
}
