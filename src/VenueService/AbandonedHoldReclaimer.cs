using Microsoft.Extensions.Options;

namespace TicketSaga.VenueService;

/// <summary>
/// Runs a reclaim pass every <see cref="VenueOptions.ReclaimInterval"/>: holds nobody finalized or
/// released by expires_at + grace go back on sale. Every replica runs it; the pass shares the work.
/// </summary>
public sealed class AbandonedHoldReclaimer(
    SeatReservationStore reservations, TimeProvider clock, IOptions<VenueOptions> options, ILogger<AbandonedHoldReclaimer> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReclaimInterval, clock);
        do
        {
            try
            {
                var reclaimed = await reservations.ReclaimAbandonedHoldsAsync(clock.GetUtcNow(), stoppingToken);
                if (reclaimed > 0)
                {
                    logger.LogInformation("Reclaimed {Count} abandoned seat holds", reclaimed);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The next pass retries; a database hiccup must not stop reclaiming for good.
                logger.LogWarning(ex, "Reclaim pass failed");
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }
}
