using Microsoft.Extensions.Options;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.TicketService.Reservations;

/// <summary>Gives back the quota holds nobody released (see <see cref="ReservationLedger.ReclaimAbandonedHoldsAsync"/>).</summary>
public sealed class AbandonedHoldReclaimer(
    ReservationLedger ledger, TimeProvider clock, IOptions<ReservationOptions> options, ILogger<AbandonedHoldReclaimer> logger)
    : AbandonedHoldReclaimerBase(options.Value.ReclaimInterval, clock, logger)
{
    protected override Task<int> ReclaimAsync(CancellationToken cancellationToken) =>
        ledger.ReclaimAbandonedHoldsAsync(cancellationToken);
}
