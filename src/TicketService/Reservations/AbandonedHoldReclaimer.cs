using Microsoft.Extensions.Options;

namespace TicketSaga.TicketService.Reservations;

/// <summary>Every ReclaimInterval, gives back the holds nobody released (see <see cref="ReservationLedger.ReclaimAbandonedHoldsAsync"/>).</summary>
public sealed class AbandonedHoldReclaimer(ReservationLedger ledger, IOptions<ReservationOptions> options, ILogger<AbandonedHoldReclaimer> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReclaimInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var reclaimed = await ledger.ReclaimAbandonedHoldsAsync(stoppingToken);
                if (reclaimed > 0)
                {
                    logger.LogInformation("Reclaimed {Count} abandoned holds", reclaimed);
                }
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                logger.LogError(ex, "Reclaiming abandoned holds failed; trying again in {Interval}", options.Value.ReclaimInterval);
            }
        }
    }
}
