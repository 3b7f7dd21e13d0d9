using Grpc.Core;
using TicketSaga.TicketService.TicketTypes;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Group commit for ReserveQuota: what is waiting is decided in one transaction per ticket type.
/// </summary>
public sealed partial class ReserveQuotaBatcher(QuotaReservations reservations, TicketTypeCatalog catalog, ILogger<ReserveQuotaBatcher> logger)
    : GroupCommitBatcher<ReserveQuotaCommand, QuotaHold>
{
    /// <remarks>A caller that gives up does not undo its hold: a retry with the same reservation_id finds it.</remarks>
    public Task<QuotaHold> ReserveAsync(ReserveQuotaCommand command, CancellationToken cancellationToken) =>
        SubmitAsync(command, cancellationToken);

    protected override async Task DecideAsync(List<Pending> batch, CancellationToken stoppingToken)
    {
        foreach (var sameTicket in batch.GroupBy(p => p.Request.TicketId))
        {
            await DecideAsync(sameTicket.Key, sameTicket.ToList(), stoppingToken);
        }
    }

    private async Task DecideAsync(Guid ticketId, List<Pending> batch, CancellationToken stoppingToken)
    {
        var first = FirstOfEach(batch, request => request.ReservationId);

        try
        {
            var ticket = await catalog.GetAsync(ticketId, stoppingToken);
            var items = first.Select(p => new QuotaReservations.Item(p.Request)).ToList();
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
