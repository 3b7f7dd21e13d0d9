using Npgsql;
using TicketSaga.ServiceDefaults;
using static TicketSaga.VenueService.SeatReservationRows;

namespace TicketSaga.VenueService;

/// <summary>
/// What becomes of a seat hold: sold (finalize) or back on sale (release), and of a sale: back on sale after a refund (return). Idempotent by reservation_id,
/// one transaction each, in the lock order of <see cref="SeatReservationRows"/>.
/// </summary>
public sealed class SeatHoldOutcomeStore(NpgsqlDataSource dataSource)
{
    public async Task<SeatReservationRecord> FinalizeSeatReservationAsync(Guid reservationId, Guid orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var reservation = await LockReservationAsync(transaction, reservationId, cancellationToken);

        switch (reservation.Status)
        {
            case SeatReservationStatus.Sold when reservation.OrderId == orderId:
                return reservation;
            case SeatReservationStatus.Sold:
                throw VenueErrors.AlreadyExists($"seat reservation {reservationId} was already finalized for order {reservation.OrderId}");
            case SeatReservationStatus.Released:
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} was released ({reservation.ReleaseReason}) and can no longer be finalized");
            case SeatReservationStatus.Returned:
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} was sold to order {reservation.OrderId} and returned; it can no longer be finalized");
        }

        await LockSeatsAsync(transaction, "reservation_id = @reservation", "reservation", reservationId, cancellationToken);
        await using (var sell = new NpgsqlCommand(
            "UPDATE seats SET status = 'SOLD' WHERE reservation_id = @reservation AND status = 'HELD'", connection, transaction))
        {
            sell.Parameters.AddWithValue("reservation", reservationId);
            // Only this reservation's own held seats become sold; all of them or none.
            EnsureAllSeats(await sell.ExecuteNonQueryAsync(cancellationToken), reservation.Quantity, $"seat reservation {reservationId}");
        }

        await using (var finalize = new NpgsqlCommand(
            "UPDATE seat_reservations SET status = 'SOLD', order_id = @order, finalized_at = now() WHERE reservation_id = @reservation",
            connection, transaction))
        {
            finalize.Parameters.AddWithValue("reservation", reservationId);
            finalize.Parameters.AddWithValue("order", orderId);
            await finalize.ExecuteNonQueryAsync(cancellationToken);
        }

        var finalized = await ReadAsync(transaction, reservationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return finalized!;
    }

    /// <summary>
    /// Undoes a sale after the order's payment was refunded: the seats SOLD to <paramref name="orderId"/>
    /// go back on sale and the reservation becomes RETURNED. A retry answers the first return.
    /// </summary>
    public async Task<SeatReservationRecord> ReturnSoldSeatReservationAsync(Guid reservationId, Guid orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var reservation = await LockReservationAsync(transaction, reservationId, cancellationToken);

        switch (reservation.Status)
        {
            case SeatReservationStatus.Returned when reservation.OrderId == orderId:
                return reservation;
            case SeatReservationStatus.Sold when reservation.OrderId == orderId:
                break;
            case SeatReservationStatus.Sold or SeatReservationStatus.Returned:
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} was sold to order {reservation.OrderId}, not to order {orderId}; nothing was returned");
            default:
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} is {reservation.Status.ToText()}, not sold; nothing was returned");
        }

        await LockSeatsAsync(transaction, "reservation_id = @reservation", "reservation", reservationId, cancellationToken);
        await using (var free = new NpgsqlCommand(
            "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL WHERE reservation_id = @reservation AND status = 'SOLD'",
            connection, transaction))
        {
            free.Parameters.AddWithValue("reservation", reservationId);
            // Only this reservation's own sold seats go back on sale; all of them or none.
            EnsureAllSeats(await free.ExecuteNonQueryAsync(cancellationToken), reservation.Quantity, $"return of seat reservation {reservationId}");
        }

        await using (var giveBack = new NpgsqlCommand(
            "UPDATE seat_reservations SET status = 'RETURNED', returned_at = now() WHERE reservation_id = @reservation AND status = 'SOLD'",
            connection, transaction))
        {
            giveBack.Parameters.AddWithValue("reservation", reservationId);
            await giveBack.ExecuteNonQueryAsync(cancellationToken);
        }

        var returned = await ReadAsync(transaction, reservationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return returned!;
    }

    public async Task<SeatReservationRecord> ReleaseSeatReservationAsync(Guid reservationId, string reason, Guid? soldTo, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ReservationIdLock.AcquireAsync(connection, [reservationId], cancellationToken);
        if (await ReadAsync(transaction, reservationId, cancellationToken, forUpdate: true) is not { } reservation)
        {
            var nothingHeld = await RememberReleaseAsync(transaction, reservationId, reason, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return nothingHeld;
        }

        switch (reservation.Status)
        {
            case SeatReservationStatus.Sold when reservation.OrderId != soldTo:
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} was finalized for order {reservation.OrderId}; sold seats are not released");
            // A hold the service reclaimed was not released by this client: its first release is answered, not refused.
            case SeatReservationStatus.Released when reservation.ReleaseReason == reason || reservation.ReleaseReason == "ABANDONED":
                return reservation;
            case SeatReservationStatus.Released:
                throw VenueErrors.AlreadyExists($"seat reservation {reservationId} was already released ({reservation.ReleaseReason})");
            case SeatReservationStatus.Returned:
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} was sold to order {reservation.OrderId} and returned; there is nothing to release");
        }

        await ReleaseSeatsAsync(transaction, [reservationId], reservation.Status, reservation.Quantity, reason, cancellationToken);
        var released = await ReadAsync(transaction, reservationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return released!;
    }

    /// <summary>
    /// Answers the release of a reservation_id that holds nothing (the caller compensates a reserve it never
    /// saw answered): RELEASED with no seats and no plan. Remembered, so that reserve is refused if it still arrives.
    /// </summary>
    private static async Task<SeatReservationRecord> RememberReleaseAsync(
        NpgsqlTransaction transaction, Guid reservationId, string reason, CancellationToken cancellationToken)
    {
        // The id's lock is held: no reserve or release of it runs between this read and the insert.
        await using (var read = new NpgsqlCommand(
            "SELECT release_reason FROM seat_reservation_tombstones WHERE reservation_id = @reservation", transaction.Connection, transaction))
        {
            read.Parameters.AddWithValue("reservation", reservationId);
            if (await read.ExecuteScalarAsync(cancellationToken) is string first && first != reason)
            {
                throw VenueErrors.AlreadyExists($"seat reservation {reservationId} was already released ({first})");
            }
        }

        // A retry with the same reason finds its tombstone and changes nothing.
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO seat_reservation_tombstones (reservation_id, release_reason) VALUES (@reservation, @reason)
            ON CONFLICT (reservation_id) DO NOTHING
            """, transaction.Connection, transaction))
        {
            insert.Parameters.AddWithValue("reservation", reservationId);
            insert.Parameters.AddWithValue("reason", reason);
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return SeatReservationRecord.NothingHeld(reservationId, reason);
    }
}
