namespace TicketSaga.TicketService.Reservations;

/// <summary>Group commit for FinalizeReservation: the paid half of a flash sale finalizes hundreds of holds at once.</summary>
public sealed class FinalizeBatcher(ReservationLedger ledger, ILogger<FinalizeBatcher> logger)
    : LedgerBatcher<FinalizeCommand, FinalizedReservation>(logger, "finalize")
{
    public Task<FinalizedReservation> FinalizeAsync(FinalizeCommand command, CancellationToken cancellationToken) =>
        SubmitAsync(command, cancellationToken);

    protected override Task<IReadOnlyList<LedgerOutcome<FinalizedReservation>>> StoreAsync(
        IReadOnlyList<FinalizeCommand> requests, CancellationToken cancellationToken) => ledger.FinalizeAsync(requests, cancellationToken);

    protected override Guid ReservationOf(FinalizeCommand request) => request.ReservationId;
}
