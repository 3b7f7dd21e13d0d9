using Grpc.Core;
using Microsoft.Extensions.Options;
using Npgsql;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Finalize and release of holds, the return of sales after a refund, and the reclaim of abandoned ones. Each locks the reservation row
/// first (a release, the reservation_id's lock before it), then the user's quota row, then the hold's
/// slots in slot order (the order every writer uses).
/// </summary>
public sealed class ReservationLedger(NpgsqlDataSource dataSource, IOptions<ReservationOptions> options)
{
    private sealed record Reservation(
        Guid Id, Guid TicketId, string UserId, int Qty, string Status, Guid? OrderId, ReleaseReason? Reason, int[] Slots, int[] SlotQtys);

    public async Task<FinalizedReservation> FinalizeAsync(Guid reservationId, Guid orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var reservation = await LockAsync(connection, reservationId, cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"Reservation {reservationId} does not exist."));

        switch (reservation.Status)
        {
            case "SOLD" when reservation.OrderId == orderId:
                return new FinalizedReservation(reservationId, orderId, reservation.Qty);
            case "SOLD":
                throw new RpcException(new Status(StatusCode.AlreadyExists,
                    $"Reservation {reservationId} was already finalized for order {reservation.OrderId}."));
            case "RELEASED":
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {reservationId} was released ({reservation.Reason!.Value.ToText()}) and can no longer be finalized."));
            case "RETURNED":
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {reservationId} was sold to order {reservation.OrderId} and returned; it can no longer be finalized."));
        }

        await using var batch = new NpgsqlBatch(connection);
        AddSlotUpdate(batch, reservation, "held = s.held - t.qty, sold = s.sold + t.qty");
        // Only a HELD row (locked above) becomes SOLD, exactly once.
        var sell = new NpgsqlBatchCommand(
            "UPDATE reservations SET status = 'SOLD', order_id = $2, updated_at = now() WHERE reservation_id = $1 AND status = 'HELD'");
        sell.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = reservationId });
        sell.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = orderId });
        batch.BatchCommands.Add(sell);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new FinalizedReservation(reservationId, orderId, reservation.Qty);
    }

    /// <param name="soldTo">The order a finalized reservation may be given back for; null releases holds only.</param>
    public async Task<ReleasedReservation> ReleaseAsync(Guid reservationId, ReleaseReason reason, Guid? soldTo, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ReservationIdLock.AcquireAsync(connection, [reservationId], cancellationToken);
        var reservation = await LockAsync(connection, reservationId, cancellationToken);
        if (reservation is null)
        {
            var tombstone = await TombstoneAsync(connection, reservationId, reason, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return tombstone;
        }

        switch (reservation.Status)
        {
            case "RELEASED":
                // Released is released, whoever came first (an expiry may race a cancel or the reclaimer):
                // the first answer, with the first reason.
                return new ReleasedReservation(reservationId, reservation.Qty, reservation.Reason!.Value);
            case "SOLD" when reservation.OrderId != soldTo:
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {reservationId} was finalized for order {reservation.OrderId} and can no longer be released."));
            case "RETURNED":
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {reservationId} was sold to order {reservation.OrderId} and returned; there is nothing to release."));
        }

        await ReleaseLockedAsync(connection, reservation, reason, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ReleasedReservation(reservationId, reservation.Qty, reason);
    }

    /// <summary>
    /// Undoes a sale after the order's payment was refunded: SOLD to <paramref name="orderId"/> becomes
    /// RETURNED and the quota goes back to the slots it came from. A retry answers the first return.
    /// </summary>
    public async Task<ReturnedReservation> ReturnSoldAsync(Guid reservationId, Guid orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var reservation = await LockAsync(connection, reservationId, cancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"Reservation {reservationId} does not exist."));

        switch (reservation.Status)
        {
            case "RETURNED" when reservation.OrderId == orderId:
                return new ReturnedReservation(reservationId, orderId, reservation.Qty);
            case "SOLD" when reservation.OrderId == orderId:
                break;
            case "SOLD" or "RETURNED":
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {reservationId} was sold to order {reservation.OrderId}, not to order {orderId}; nothing was returned."));
            default:
                throw new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {reservationId} is {reservation.Status}, not sold; nothing was returned."));
        }

        await using var batch = new NpgsqlBatch(connection);
        // A returned purchase stops counting against the user's max_per_user.
        AddUncountUserHold(batch, reservation.TicketId, reservation.UserId, reservation.Qty);
        AddSlotUpdate(batch, reservation, "sold = s.sold - t.qty, available = s.available + t.qty");
        // Only the SOLD row (locked above) is returned, exactly once; it keeps the order it was sold to.
        var giveBack = new NpgsqlBatchCommand(
            "UPDATE reservations SET status = 'RETURNED', updated_at = now() WHERE reservation_id = $1 AND status = 'SOLD'");
        giveBack.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = reservationId });
        batch.BatchCommands.Add(giveBack);
        await batch.ExecuteNonQueryAsync(cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return new ReturnedReservation(reservationId, orderId, reservation.Qty);
    }

    /// <summary>
    /// One reclaim pass: releases (ABANDONED) every hold whose expires_at is older than the grace period,
    /// and forgets tombstones older than their retention.
    /// Safe with several replicas and with concurrent Release/Finalize calls: rows locked elsewhere are skipped.
    /// </summary>
    public async Task<int> ReclaimAbandonedHoldsAsync(CancellationToken cancellationToken)
    {
        await using (var purge = dataSource.CreateCommand("DELETE FROM reservation_tombstones WHERE released_at < now() - @retention"))
        {
            purge.Parameters.AddWithValue("retention", options.Value.TombstoneRetention);
            await purge.ExecuteNonQueryAsync(cancellationToken);
        }

        var reclaimed = 0;
        while (true)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            // SKIP LOCKED: a hold being finalized or released right now, or taken by another replica, is left alone.
            await using var next = new NpgsqlCommand(
                """
                SELECT reservation_id FROM reservations
                WHERE status = 'HELD' AND expires_at < now() - @grace
                ORDER BY expires_at LIMIT 1
                FOR UPDATE SKIP LOCKED
                """, connection, transaction);
            next.Parameters.AddWithValue("grace", options.Value.AbandonedHoldGrace);
            if (await next.ExecuteScalarAsync(cancellationToken) is not Guid id)
            {
                return reclaimed;
            }

            var reservation = (await LockAsync(connection, id, cancellationToken))!;
            await ReleaseLockedAsync(connection, reservation, ReleaseReason.Abandoned, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            reclaimed++;
        }
    }

    /// <summary>
    /// Answers the release of a reservation_id that holds nothing (the caller compensates a reserve it
    /// never saw answered) and remembers it, so that reserve is refused if it still arrives.
    /// </summary>
    private static async Task<ReleasedReservation> TombstoneAsync(
        NpgsqlConnection connection, Guid reservationId, ReleaseReason reason, CancellationToken cancellationToken)
    {
        // The id's lock is held: no reserve or release of it runs between this read and the insert.
        await using var read = new NpgsqlCommand("SELECT release_reason FROM reservation_tombstones WHERE reservation_id = @id", connection);
        read.Parameters.AddWithValue("id", reservationId);
        if (await read.ExecuteScalarAsync(cancellationToken) is string first)
        {
            return new ReleasedReservation(reservationId, 0, ReleaseReasons.Parse(first));
        }

        await using var insert = new NpgsqlCommand(
            "INSERT INTO reservation_tombstones (reservation_id, release_reason) VALUES (@id, @reason)", connection);
        insert.Parameters.AddWithValue("id", reservationId);
        insert.Parameters.AddWithValue("reason", reason.ToText());
        await insert.ExecuteNonQueryAsync(cancellationToken);
        return new ReleasedReservation(reservationId, 0, reason);
    }

    private static async Task<Reservation?> LockAsync(NpgsqlConnection connection, Guid reservationId, CancellationToken cancellationToken)
    {
        // The row lock serializes finalize, release and reclaim of one reservation: exactly one of them wins.
        await using var command = new NpgsqlCommand(
            """
            SELECT ticket_id, user_id, qty, status, order_id, release_reason, slots, slot_qtys
            FROM reservations WHERE reservation_id = @id FOR UPDATE
            """, connection);
        command.Parameters.AddWithValue("id", reservationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        return new Reservation(
            reservationId, reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3),
            reader.IsDBNull(4) ? null : reader.GetGuid(4),
            reader.IsDBNull(5) ? null : ReleaseReasons.Parse(reader.GetString(5)),
            reader.GetFieldValue<int[]>(6), reader.GetFieldValue<int[]>(7));
    }

    /// <summary>Gives a HELD or SOLD reservation (locked above) back to the slots it came from.</summary>
    private static async Task ReleaseLockedAsync(
        NpgsqlConnection connection, Reservation reservation, ReleaseReason reason, CancellationToken cancellationToken)
    {
        var column = reservation.Status == "SOLD" ? "sold" : "held";
        await using var batch = new NpgsqlBatch(connection);
        // A released reservation stops counting against the user's max_per_user.
        AddUncountUserHold(batch, reservation.TicketId, reservation.UserId, reservation.Qty);
        AddSlotUpdate(batch, reservation, $"{column} = s.{column} - t.qty, available = s.available + t.qty");
        // Only the row in the state read under its lock is released, exactly once.
        var release = new NpgsqlBatchCommand(
            """
            UPDATE reservations SET status = 'RELEASED', release_reason = $2, order_id = NULL, updated_at = now()
            WHERE reservation_id = $1 AND status = $3
            """);
        release.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = reservation.Id });
        release.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reason.ToText() });
        release.Parameters.Add(new NpgsqlParameter<string> { TypedValue = reservation.Status });
        batch.BatchCommands.Add(release);
        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Takes a hold back off its user's tally. A tally that reaches zero is deleted, so a refused or
    /// released hold leaves no trace of the user behind.
    /// </summary>
    internal static void AddUncountUserHold(NpgsqlBatch batch, Guid ticketId, string userId, int qty)
    {
        var uncount = new NpgsqlBatchCommand("UPDATE ticket_user_quota SET qty = qty - $3 WHERE ticket_id = $1 AND user_id = $2");
        uncount.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ticketId });
        uncount.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        uncount.Parameters.Add(new NpgsqlParameter<int> { TypedValue = qty });
        batch.BatchCommands.Add(uncount);
        var forget = new NpgsqlBatchCommand("DELETE FROM ticket_user_quota WHERE ticket_id = $1 AND user_id = $2 AND qty = 0");
        forget.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ticketId });
        forget.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
        batch.BatchCommands.Add(forget);
    }

    /// <summary>Moves the hold's quantities on the very slots it was taken from.</summary>
    private static void AddSlotUpdate(NpgsqlBatch batch, Reservation reservation, string assignments)
    {
        // Lock the slots in slot order first: UPDATE ... FROM would lock them in whatever order the join runs.
        var lockSlots = new NpgsqlBatchCommand(
            "SELECT slot FROM ticket_quota_slots WHERE ticket_id = $1 AND slot = ANY($2) ORDER BY slot FOR UPDATE");
        lockSlots.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = reservation.TicketId });
        lockSlots.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = reservation.Slots });
        batch.BatchCommands.Add(lockSlots);

        // The CHECK on each slot (available + held + sold = capacity, none negative) guards conservation.
        var update = new NpgsqlBatchCommand(
            $"""
            UPDATE ticket_quota_slots s SET {assignments}
            FROM unnest($2::int[], $3::int[]) AS t(slot, qty)
            WHERE s.ticket_id = $1 AND s.slot = t.slot
            """);
        update.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = reservation.TicketId });
        update.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = reservation.Slots });
        update.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = reservation.SlotQtys });
        batch.BatchCommands.Add(update);
    }
}
