namespace TicketSaga.TicketService.Reservations;

/// <summary>Group commit for ReleaseReservation: an expiry storm releases thousands of holds at once.</summary>
public sealed class ReleaseBatcher(ReservationLedger ledger, ILogger<ReleaseBatcher> logger)
    : LedgerBatcher<ReleaseCommand, ReleasedReservation>(logger, "release")
{
    public Task<ReleasedReservation> ReleaseAsync(ReleaseCommand command, CancellationToken cancellationToken) =>
        SubmitAsync(command, cancellationToken);

    protected override Task<IReadOnlyList<LedgerOutcome<ReleasedReservation>>> StoreAsync(
        IReadOnlyList<ReleaseCommand> requests, CancellationToken cancellationToken) => ledger.ReleaseAsync(requests, cancellationToken);

    protected override Guid ReservationOf(ReleaseCommand request) => request.ReservationId;
}
