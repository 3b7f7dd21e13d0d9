using System.Threading.Channels;
using Grpc.Core;
using TicketSaga.TicketService.TicketTypes;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Group commit for ReserveQuota: concurrent requests queue here and a few workers each take what is
/// waiting and decide it in one transaction per ticket type, so one commit (one WAL flush) serves many
/// buyers. Every request still gets its own answer.
/// </summary>
public sealed partial class ReserveQuotaBatcher(QuotaReservations reservations, TicketTypeCatalog catalog, ILogger<ReserveQuotaBatcher> logger)
    : BackgroundService
{
    private const int MaxBatch = 128;

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>();

    private sealed record Pending(ReserveQuotaCommand Command, TaskCompletionSource<QuotaHold> Answer);

    public async Task<QuotaHold> ReserveAsync(ReserveQuotaCommand command, CancellationToken cancellationToken)
    {
        var pending = new Pending(command, new TaskCompletionSource<QuotaHold>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending))
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "The ticket service is shutting down."));
        }

        // A caller that gives up does not undo its hold: a retry with the same reservation_id finds it.
        return await pending.Answer.Task.WaitAsync(cancellationToken);
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
                pending.Answer.TrySetException(new RpcException(new Status(StatusCode.Unavailable, "The ticket service is shutting down.")));
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

            foreach (var sameTicket in batch.GroupBy(p => p.Command.TicketId))
            {
                await DecideAsync(sameTicket.Key, sameTicket.ToList(), stoppingToken);
            }

            batch.Clear();
        }
    }

    private async Task DecideAsync(Guid ticketId, List<Pending> batch, CancellationToken stoppingToken)
    {
        // A duplicate reservation_id waits for the next batch, which answers it from the first one's row.
        var first = batch.DistinctBy(p => p.Command.ReservationId).ToList();
        foreach (var duplicate in batch.Except(first))
        {
            _queue.Writer.TryWrite(duplicate);
        }

        try
        {
            var ticket = await catalog.GetAsync(ticketId, stoppingToken);
            var items = first.Select(p => new QuotaReservations.Item(p.Command)).ToList();
            try
            {
                await reservations.ReserveAsync(ticket, items, stoppingToken);
            }
            catch (Exception ex) when (items.Count > 1 && ex is not OperationCanceledException)
            {
                // One item's unexpected failure must not fail the others: decide each on its own.
                LogBatchFailed(logger, ex, items.Count);
                foreach (var item in items)
                {
                    item.Reset();
                    try
                    {
                        await reservations.ReserveAsync(ticket, [item], stoppingToken);
                    }
                    catch (Exception single) when (single is not OperationCanceledException)
                    {
                        LogHoldFailed(logger, single, item.Command.ReservationId);
                        item.Reset();
                        item.Error = new RpcException(new Status(StatusCode.Unavailable, "The hold could not be stored; retry with the same reservation_id."));
                    }
                }
            }

            foreach (var (pending, item) in first.Zip(items))
            {
                if (item.Hold is { } hold)
                {
                    pending.Answer.TrySetResult(hold);
                }
                else
                {
                    pending.Answer.TrySetException(item.Error!);
                }
            }
        }
        catch (Exception ex)
        {
            var error = ex as RpcException ?? new RpcException(new Status(StatusCode.Unavailable, "The hold could not be stored; retry with the same reservation_id."));
            if (ex is not RpcException and not OperationCanceledException)
            {
                LogTicketTypeHoldsFailed(logger, ex, ticketId);
            }

            first.ForEach(p => p.Answer.TrySetException(error));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch of {Count} holds failed; deciding them one by one")]
    private static partial void LogBatchFailed(ILogger logger, Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Hold {ReservationId} failed")]
    private static partial void LogHoldFailed(ILogger logger, Exception exception, Guid reservationId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Holds on ticket type {TicketId} failed")]
    private static partial void LogTicketTypeHoldsFailed(ILogger logger, Exception exception, Guid ticketId);
}
