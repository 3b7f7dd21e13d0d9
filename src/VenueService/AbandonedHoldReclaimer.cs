using Microsoft.Extensions.Options;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.VenueService;

/// <summary>Puts seat holds nobody finalized or released by expires_at + grace back on sale.</summary>
public sealed class AbandonedHoldReclaimer(
    SeatReclaimStore reclaims, TimeProvider clock, IOptions<VenueOptions> options, ILogger<AbandonedHoldReclaimer> logger)
    : AbandonedHoldReclaimerBase(options.Value.ReclaimInterval, clock, logger)
{
    protected override Task<int> ReclaimAsync(CancellationToken cancellationToken) =>
        reclaims.ReclaimAbandonedHoldsAsync(Clock.GetUtcNow(), cancellationToken);
}
