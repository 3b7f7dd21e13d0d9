using Grpc.Core;
using Microsoft.Extensions.Options;
using Npgsql;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Finalize and release of holds, the return of sales after a refund, and the reclaim of abandoned ones.
/// Each locks its reservation rows first, in id order (a release, the reservation_ids' locks before
/// them), then the users' quota rows in (ticket, user) order, then the slots in (ticket, slot) order:
/// the order every writer uses.
/// </summary>
public sealed class ReservationLedger(NpgsqlDataSource dataSource, IOptions<ReservationOptions> options)
{
    /// <summary>Abandoned holds released per transaction by the reclaimer.</summary>
    private const int ReclaimBatch = 100;

    private sealed record Reservation(
        Guid Id, Guid TicketId, string UserId, int Qty, string Status, Guid? OrderId, ReleaseReason? Reason, int[] Slots, int[] SlotQtys);

    /// <summary>
    /// Finalizes many reservations in one transaction (the finalize batcher's group commit); each gets its
    /// own answer or error, in the order of <paramref name="finalizes"/>, whose ids must be distinct.
    /// </summary>
    public async Task<IReadOnlyList<LedgerOutcome<FinalizedReservation>>> FinalizeAsync(
        IReadOnlyList<FinalizeCommand> finalizes, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var rows = await LockAllAsync(connection, finalizes.Select(f => f.ReservationId), cancellationToken);
        var outcomes = finalizes.Select(f => DecideFinalize(f, rows.GetValueOrDefault(f.ReservationId))).ToList();
        var sell = finalizes.Where(f => rows.TryGetValue(f.ReservationId, out var row) && row.Status == "HELD").ToList();
        if (sell.Count > 0)
        {
            await using var batch = new NpgsqlBatch(connection);
            AddSlotMoves(batch, sell.Select(f => (rows[f.ReservationId], new SlotMove(Available: 0, Held: -1, Sold: 1))));
            // Only HELD rows (locked above) become SOLD, exactly once.
            var sold = new NpgsqlBatchCommand(
                """
                UPDATE reservations r SET status = 'SOLD', order_id = t.order_id, updated_at = now()
                FROM unnest($1::uuid[], $2::uuid[]) AS t(id, order_id)
                WHERE r.reservation_id = t.id AND r.status = 'HELD'
                """);
            sold.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. sell.Select(f => f.ReservationId)] });
            sold.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. sell.Select(f => f.OrderId)] });
            batch.BatchCommands.Add(sold);
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    private static LedgerOutcome<FinalizedReservation> DecideFinalize(FinalizeCommand finalize, Reservation? row)
    {
        var (id, orderId) = finalize;
        return row?.Status switch
        {
            null => new(new RpcException(new Status(StatusCode.NotFound, $"Reservation {id} does not exist."))),
            "HELD" => new(new FinalizedReservation(id, orderId, row.Qty)),
            "SOLD" when row.OrderId == orderId => new(new FinalizedReservation(id, orderId, row.Qty)),
            "SOLD" => new(new RpcException(new Status(StatusCode.AlreadyExists,
                $"Reservation {id} was already finalized for order {row.OrderId}."))),
            "RELEASED" => new(new RpcException(new Status(StatusCode.FailedPrecondition,
                $"Reservation {id} was released ({row.Reason!.Value.ToText()}) and can no longer be finalized."))),
            _ => new(new RpcException(new Status(StatusCode.FailedPrecondition,
                $"Reservation {id} was sold to order {row.OrderId} and returned; it can no longer be finalized."))),
        };
    }

    /// <summary>
    /// Releases many reservations in one transaction (the release batcher's group commit); each gets its
    /// own answer or error, in the order of <paramref name="releases"/>, whose ids must be distinct.
    /// </summary>
    public async Task<IReadOnlyList<LedgerOutcome<ReleasedReservation>>> ReleaseAsync(IReadOnlyList<ReleaseCommand> releases, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await ReservationIdLock.AcquireAsync(connection, releases.Select(r => r.ReservationId), cancellationToken);
        var outcomes = await ReleaseLockedAsync(connection, releases, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return outcomes;
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
        AddUncountUserHolds(batch, [(reservation.TicketId, reservation.UserId, reservation.Qty)]);
        AddSlotMoves(batch, [(reservation, new SlotMove(Available: 1, Held: 0, Sold: -1))]);
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
            // No reservation_id lock after these row locks: a release takes them the other way round.
            await using var next = new NpgsqlCommand(
                """
                SELECT reservation_id FROM reservations
                WHERE status = 'HELD' AND expires_at < now() - @grace
                ORDER BY expires_at LIMIT @batch
                FOR UPDATE SKIP LOCKED
                """, connection, transaction);
            next.Parameters.AddWithValue("grace", options.Value.AbandonedHoldGrace);
            next.Parameters.AddWithValue("batch", ReclaimBatch);
            var abandoned = new List<ReleaseCommand>();
            await using (var reader = await next.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    abandoned.Add(new ReleaseCommand(reader.GetGuid(0), ReleaseReason.Abandoned, SoldTo: null));
                }
            }

            if (abandoned.Count == 0)
            {
                return reclaimed;
            }

            await ReleaseLockedAsync(connection, abandoned, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            reclaimed += abandoned.Count;
        }
    }

    /// <summary>
    /// Answers the releases of reservation_ids that hold nothing (the caller compensates a reserve it
    /// never saw answered) and remembers them, so that such a reserve is refused if it still arrives.
    /// </summary>
    private static async Task<IReadOnlyList<ReleasedReservation>> TombstoneAsync(
        NpgsqlConnection connection, IReadOnlyList<ReleaseCommand> releases, CancellationToken cancellationToken)
    {
        if (releases.Count == 0)
        {
            return [];
        }

        // The ids' locks are held: no reserve or release of them runs between this read and the insert.
        await using var read = new NpgsqlCommand(
            "SELECT reservation_id, release_reason FROM reservation_tombstones WHERE reservation_id = ANY(@ids)", connection);
        read.Parameters.AddWithValue("ids", releases.Select(r => r.ReservationId).ToArray());
        var first = new Dictionary<Guid, ReleaseReason>();
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                first[reader.GetGuid(0)] = ReleaseReasons.Parse(reader.GetString(1));
            }
        }

        var fresh = releases.Where(r => !first.ContainsKey(r.ReservationId)).ToList();
        if (fresh.Count > 0)
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO reservation_tombstones (reservation_id, release_reason) SELECT * FROM unnest(@ids, @reasons)", connection);
            insert.Parameters.AddWithValue("ids", fresh.Select(r => r.ReservationId).ToArray());
            insert.Parameters.AddWithValue("reasons", fresh.Select(r => r.Reason.ToText()).ToArray());
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }

        return [.. releases.Select(r => new ReleasedReservation(r.ReservationId, 0, first.GetValueOrDefault(r.ReservationId, r.Reason)))];
    }

    private const string ReservationColumns = "reservation_id, ticket_id, user_id, qty, status, order_id, release_reason, slots, slot_qtys";

    private static async Task<Reservation?> LockAsync(NpgsqlConnection connection, Guid reservationId, CancellationToken cancellationToken)
    {
        // The row lock serializes finalize, release and reclaim of one reservation: exactly one of them wins.
        await using var command = new NpgsqlCommand($"SELECT {ReservationColumns} FROM reservations WHERE reservation_id = @id FOR UPDATE", connection);
        command.Parameters.AddWithValue("id", reservationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadReservation(reader) : null;
    }

    private static Reservation ReadReservation(NpgsqlDataReader reader) => new(
        reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetGuid(5),
        reader.IsDBNull(6) ? null : ReleaseReasons.Parse(reader.GetString(6)),
        reader.GetFieldValue<int[]>(7), reader.GetFieldValue<int[]>(8));

    /// <summary>
    /// Decides each release under the reservation rows' locks (taken here, in id order) and gives every
    /// HELD reservation, or SOLD one released for its own order, back to the slots it came from: user
    /// tallies in (ticket, user) order, then slots in (ticket, slot) order, the order every writer uses.
    /// </summary>
    private static async Task<IReadOnlyList<LedgerOutcome<ReleasedReservation>>> ReleaseLockedAsync(
        NpgsqlConnection connection, IReadOnlyList<ReleaseCommand> releases, CancellationToken cancellationToken)
    {
        var rows = await LockAllAsync(connection, releases.Select(r => r.ReservationId), cancellationToken);
        var outcomes = new LedgerOutcome<ReleasedReservation>[releases.Count];
        var unknown = new List<int>();
        var giveBack = new List<(Reservation Row, ReleaseReason Reason)>();
        for (var i = 0; i < releases.Count; i++)
        {
            var (id, reason, soldTo) = releases[i];
            if (!rows.TryGetValue(id, out var row))
            {
                unknown.Add(i);
                continue;
            }

            outcomes[i] = row.Status switch
            {
                // Released is released, whoever came first (an expiry may race a cancel or the reclaimer):
                // the first answer, with the first reason.
                "RELEASED" => new(new ReleasedReservation(id, row.Qty, row.Reason!.Value)),
                "SOLD" when row.OrderId != soldTo => new(new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {id} was finalized for order {row.OrderId} and can no longer be released."))),
                "RETURNED" => new(new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Reservation {id} was sold to order {row.OrderId} and returned; there is nothing to release."))),
                _ => new(new ReleasedReservation(id, row.Qty, reason)),
            };
            if (row.Status is "HELD" or "SOLD" && outcomes[i].Answer is not null)
            {
                giveBack.Add((row, reason));
            }
        }

        foreach (var (i, released) in unknown.Zip(await TombstoneAsync(connection, [.. unknown.Select(i => releases[i])], cancellationToken)))
        {
            outcomes[i] = new(released);
        }

        if (giveBack.Count > 0)
        {
            await using var batch = new NpgsqlBatch(connection);
            // A released reservation stops counting against the user's max_per_user.
            AddUncountUserHolds(batch, giveBack.Select(g => (g.Row.TicketId, g.Row.UserId, g.Row.Qty)));
            AddSlotMoves(batch, giveBack.Select(g => (g.Row, g.Row.Status == "SOLD" ? new SlotMove(1, 0, -1) : new SlotMove(1, -1, 0))));
            // Only the rows in the state read under their locks are released, exactly once.
            var release = new NpgsqlBatchCommand(
                """
                UPDATE reservations r SET status = 'RELEASED', release_reason = t.reason, order_id = NULL, updated_at = now()
                FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, reason, status)
                WHERE r.reservation_id = t.id AND r.status = t.status
                """);
            release.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. giveBack.Select(g => g.Row.Id)] });
            release.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. giveBack.Select(g => g.Reason.ToText())] });
            release.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. giveBack.Select(g => g.Row.Status)] });
            batch.BatchCommands.Add(release);
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }

        return outcomes;
    }

    /// <summary>Locks the reservation rows in id order (the order every batch uses) and reads them.</summary>
    private static async Task<Dictionary<Guid, Reservation>> LockAllAsync(
        NpgsqlConnection connection, IEnumerable<Guid> reservationIds, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            $"""
            SELECT {ReservationColumns} FROM reservations
            WHERE reservation_id = ANY(@ids) ORDER BY reservation_id FOR UPDATE
            """, connection);
        command.Parameters.AddWithValue("ids", reservationIds.ToArray());
        var rows = new Dictionary<Guid, Reservation>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var row = ReadReservation(reader);
            rows[row.Id] = row;
        }

        return rows;
    }

    /// <summary>How a reservation's quantities move on its slots: added to each column (negative: taken off).</summary>
    private readonly record struct SlotMove(int Available, int Held, int Sold);

    /// <summary>Moves each reservation's quantities on the very slots it was taken from.</summary>
    private static void AddSlotMoves(NpgsqlBatch batch, IEnumerable<(Reservation Reservation, SlotMove Move)> moves)
    {
        var deltas = moves
            .SelectMany(m => m.Reservation.Slots.Zip(m.Reservation.SlotQtys, (slot, qty) => (m.Reservation.TicketId, Slot: slot, Qty: qty, m.Move)))
            .GroupBy(d => (d.TicketId, d.Slot))
            .Select(g => (g.Key.TicketId, g.Key.Slot,
                Available: g.Sum(d => d.Qty * d.Move.Available), Held: g.Sum(d => d.Qty * d.Move.Held), Sold: g.Sum(d => d.Qty * d.Move.Sold)))
            .ToList();

        // Lock the slots in (ticket, slot) order first: UPDATE ... FROM would lock them in whatever order the join runs.
        var lockSlots = new NpgsqlBatchCommand(
            """
            SELECT s.slot FROM ticket_quota_slots s
            JOIN unnest($1::uuid[], $2::int[]) AS t(ticket_id, slot) ON s.ticket_id = t.ticket_id AND s.slot = t.slot
            ORDER BY s.ticket_id, s.slot FOR UPDATE OF s
            """);
        lockSlots.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. deltas.Select(d => d.TicketId)] });
        lockSlots.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. deltas.Select(d => d.Slot)] });
        batch.BatchCommands.Add(lockSlots);

        // The CHECK on each slot (available + held + sold = capacity, none negative) guards conservation.
        var update = new NpgsqlBatchCommand(
            """
            UPDATE ticket_quota_slots s
            SET available = s.available + t.available, held = s.held + t.held, sold = s.sold + t.sold
            FROM unnest($1::uuid[], $2::int[], $3::int[], $4::int[], $5::int[]) AS t(ticket_id, slot, available, held, sold)
            WHERE s.ticket_id = t.ticket_id AND s.slot = t.slot
            """);
        update.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. deltas.Select(d => d.TicketId)] });
        update.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. deltas.Select(d => d.Slot)] });
        update.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. deltas.Select(d => d.Available)] });
        update.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. deltas.Select(d => d.Held)] });
        update.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = [.. deltas.Select(d => d.Sold)] });
        batch.BatchCommands.Add(update);
    }

    /// <summary>
    /// Takes holds back off their users' tallies, one statement per user in (ticket, user) order, the
    /// order a reserve counts them in. A tally that reaches zero is deleted, so a refused or released
    /// hold leaves no trace of the user behind.
    /// </summary>
    internal static void AddUncountUserHolds(NpgsqlBatch batch, IEnumerable<(Guid TicketId, string UserId, int Qty)> holds)
    {
        var tallies = holds.GroupBy(h => (h.TicketId, h.UserId), (user, held) => (user.TicketId, user.UserId, Qty: held.Sum(h => h.Qty)))
            .OrderBy(t => t.TicketId).ThenBy(t => t.UserId, StringComparer.Ordinal)
            .ToList();
        foreach (var (ticketId, userId, qty) in tallies)
        {
            var uncount = new NpgsqlBatchCommand("UPDATE ticket_user_quota SET qty = qty - $3 WHERE ticket_id = $1 AND user_id = $2");
            uncount.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ticketId });
            uncount.Parameters.Add(new NpgsqlParameter<string> { TypedValue = userId });
            uncount.Parameters.Add(new NpgsqlParameter<int> { TypedValue = qty });
            batch.BatchCommands.Add(uncount);
        }

        // Every row is locked by the updates above.
        var forget = new NpgsqlBatchCommand(
            """
            DELETE FROM ticket_user_quota q USING unnest($1::uuid[], $2::text[]) AS t(ticket_id, user_id)
            WHERE q.ticket_id = t.ticket_id AND q.user_id = t.user_id AND q.qty = 0
            """);
        forget.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = [.. tallies.Select(t => t.TicketId)] });
        forget.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. tallies.Select(t => t.UserId)] });
        batch.BatchCommands.Add(forget);
    }
}
