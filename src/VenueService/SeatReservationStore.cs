using System.Buffers.Binary;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Npgsql;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService;

/// <summary>
/// Seat holds and their outcome. Every mutation is idempotent by reservation_id and runs in one
/// transaction. Locks are always taken in the same order — the reservation_id's advisory lock (reserve
/// and release), the reservation row, then sections by name, then seats by id — so concurrent reservers,
/// finalizers, releasers and reclaim passes wait for each other but never deadlock.
/// </summary>
public sealed class SeatReservationStore(NpgsqlDataSource dataSource, IOptions<VenueOptions> options)
{
    private const int ReclaimBatchSize = 100;

    public async Task<SeatReservation> ReserveHeldSeatsAsync(
        Guid planId, Guid reservationId, IReadOnlyList<Guid> seatIds, string? section, DateTime expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await LockReservationIdAsync(transaction, reservationId, cancellationToken);
        await RefuseIfReleasedAsync(transaction, reservationId, cancellationToken);
        if (!await TryStartReservationAsync(transaction, reservationId, planId, section: null, seatIds.Count, expiresAt, cancellationToken))
        {
            var existing = await ReadExistingAsync(transaction, reservationId, planId, cancellationToken);
            var differences = existing.DifferencesFrom(planId, section: null, seatIds.Count, expiresAt);
            if (!existing.Seats.Select(s => s.SeatId).ToHashSet().SetEquals(seatIds))
            {
                differences.Add("seat_ids");
            }

            return existing.AnswerRetry(differences);
        }

        var seats = new Dictionary<Guid, PlannedSeat>();
        await using (var read = new NpgsqlCommand(
            """
            SELECT s.seat_id, s.plan_id, s.section, s.label, p.position, s.row_rank, s.number
            FROM seats s JOIN plan_sections p ON p.plan_id = s.plan_id AND p.name = s.section
            WHERE s.seat_id = ANY(@seats)
            """, transaction.Connection, transaction))
        {
            read.Parameters.AddWithValue("seats", seatIds.ToArray());
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                seats[reader.GetGuid(0)] = new PlannedSeat(
                    reader.GetGuid(1), reader.GetString(2), reader.GetString(3), (reader.GetInt32(4), reader.GetInt32(5), reader.GetInt32(6)));
            }
        }

        var notInPlan = seatIds.Where(id => !seats.TryGetValue(id, out var seat) || seat.PlanId != planId).ToList();
        if (notInPlan.Count > 0)
        {
            throw VenueErrors.NotFound($"seats not found in seat plan {planId}: {string.Join(", ", notInPlan)}");
        }

        var outsideSection = seatIds.Where(id => section is not null && seats[id].Section != section).Select(id => seats[id].Label).ToList();
        if (outsideSection.Count > 0)
        {
            throw VenueErrors.InvalidArgument($"seats not in section '{section}': {string.Join(", ", outsideSection)}");
        }

        // Shared section locks: an auto-assign (which takes them exclusively) never sees these seats change under it.
        await using (var lockSections = new NpgsqlCommand(
            "SELECT 1 FROM plan_sections WHERE plan_id = @plan AND name = ANY(@sections) ORDER BY name FOR SHARE",
            transaction.Connection, transaction))
        {
            lockSections.Parameters.AddWithValue("plan", planId);
            lockSections.Parameters.AddWithValue("sections", seats.Values.Select(s => s.Section).Distinct().ToArray());
            await lockSections.ExecuteNonQueryAsync(cancellationToken);
        }

        var statuses = await LockSeatsAsync(transaction, "seat_id = ANY(@seats)", "seats", seatIds.ToArray(), cancellationToken);
        var unavailable = statuses.Where(s => s.Value != "AVAILABLE").OrderBy(s => seats[s.Key].Order).ToList();
        if (unavailable.Count > 0)
        {
            throw VenueErrors.FailedPrecondition("seats not available: " +
                string.Join(", ", unavailable.Select(s => $"{seats[s.Key].Label} ({s.Value.ToLowerInvariant()})")));
        }

        await HoldSeatsAsync(transaction, reservationId, seatIds, cancellationToken);
        var reservation = await ReadAsync(transaction, reservationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return reservation!.ToMessage();
    }

    public async Task<SeatReservation> AutoAssignAndReserveAsync(
        Guid planId, Guid reservationId, string section, int quantity, DateTime expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await LockReservationIdAsync(transaction, reservationId, cancellationToken);
        await RefuseIfReleasedAsync(transaction, reservationId, cancellationToken);
        if (!await TryStartReservationAsync(transaction, reservationId, planId, section, quantity, expiresAt, cancellationToken))
        {
            var existing = await ReadExistingAsync(transaction, reservationId, planId, cancellationToken);
            return existing.AnswerRetry(existing.DifferencesFrom(planId, section, quantity, expiresAt));
        }

        // Serializes auto-assigns per section: the best seats depend on the whole section's map, so
        // skipping locked seats (SKIP LOCKED) would make the choice depend on timing, not on the map.
        await using (var lockSection = new NpgsqlCommand(
            "SELECT 1 FROM plan_sections WHERE plan_id = @plan AND name = @section FOR UPDATE", connection, transaction))
        {
            lockSection.Parameters.AddWithValue("plan", planId);
            lockSection.Parameters.AddWithValue("section", section);
            if (await lockSection.ExecuteScalarAsync(cancellationToken) is null)
            {
                throw VenueErrors.NotFound($"section '{section}' not found in seat plan {planId}");
            }
        }

        var rows = new List<(string Label, List<SeatSlot> Seats)>();
        await using (var read = new NpgsqlCommand(
            """
            SELECT seat_id, row_label, number, status = 'AVAILABLE'
            FROM seats WHERE plan_id = @plan AND section = @section
            ORDER BY row_rank, number
            """, connection, transaction))
        {
            read.Parameters.AddWithValue("plan", planId);
            read.Parameters.AddWithValue("section", section);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var label = reader.GetString(1);
                if (rows.Count == 0 || rows[^1].Label != label)
                {
                    rows.Add((label, []));
                }

                rows[^1].Seats.Add(new SeatSlot(reader.GetGuid(0), reader.GetInt32(2), reader.GetBoolean(3)));
            }
        }

        var chosen = SeatAssigner.Assign(rows.Select(r => new SeatRow(r.Label, r.Seats)).ToList(), quantity);
        if (chosen is null)
        {
            var left = rows.Sum(r => r.Seats.Count(s => s.Available));
            throw VenueErrors.ResourceExhausted(
                $"only {left} seat{(left == 1 ? "" : "s")} left in section '{section}', {quantity} requested");
        }

        await LockSeatsAsync(transaction, "seat_id = ANY(@seats)", "seats", chosen.ToArray(), cancellationToken);
        await HoldSeatsAsync(transaction, reservationId, chosen, cancellationToken);
        var reservation = await ReadAsync(transaction, reservationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return reservation!.ToMessage();
    }

    public async Task<SeatReservation> FinalizeSeatReservationAsync(Guid reservationId, Guid orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var reservation = await LockReservationAsync(transaction, reservationId, cancellationToken);

        switch (reservation.State)
        {
            case "SOLD" when reservation.OrderId == orderId:
                return reservation.ToMessage();
            case "SOLD":
                throw VenueErrors.AlreadyExists($"seat reservation {reservationId} was already finalized for order {reservation.OrderId}");
            case "RELEASED":
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} was released ({reservation.ReleaseReason}) and can no longer be finalized");
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
            "UPDATE seat_reservations SET state = 'SOLD', order_id = @order, finalized_at = now() WHERE reservation_id = @reservation",
            connection, transaction))
        {
            finalize.Parameters.AddWithValue("reservation", reservationId);
            finalize.Parameters.AddWithValue("order", orderId);
            await finalize.ExecuteNonQueryAsync(cancellationToken);
        }

        var finalized = await ReadAsync(transaction, reservationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return finalized!.ToMessage();
    }

    /// <param name="soldTo">The order a finalized reservation may be given back for; null releases holds only.</param>
    public async Task<SeatReservation> ReleaseSeatReservationAsync(Guid reservationId, string reason, Guid? soldTo, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await LockReservationIdAsync(transaction, reservationId, cancellationToken);
        if (await ReadAsync(transaction, reservationId, cancellationToken, forUpdate: true) is not { } reservation)
        {
            var nothingHeld = await RememberReleaseAsync(transaction, reservationId, reason, cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            return nothingHeld;
        }

        switch (reservation.State)
        {
            case "SOLD" when reservation.OrderId != soldTo:
                throw VenueErrors.FailedPrecondition(
                    $"seat reservation {reservationId} was finalized for order {reservation.OrderId}; sold seats are not released");
            // A hold the service reclaimed was not released by this client: its first release is answered, not refused.
            case "RELEASED" when reservation.ReleaseReason == reason || reservation.ReleaseReason == "ABANDONED":
                return reservation.ToMessage();
            case "RELEASED":
                throw VenueErrors.AlreadyExists($"seat reservation {reservationId} was already released ({reservation.ReleaseReason})");
        }

        await ReleaseSeatsAsync(transaction, [reservationId], reservation.State, reservation.Quantity, reason, cancellationToken);
        var released = await ReadAsync(transaction, reservationId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return released!.ToMessage();
    }

    /// <summary>
    /// Releases (reason ABANDONED) the holds whose expires_at is more than the grace period before
    /// <paramref name="now"/>, and forgets releases of unknown reservation_ids older than their retention.
    /// Safe with several replicas running passes together and against concurrent finalizes and releases.
    /// Returns how many holds this pass reclaimed.
    /// </summary>
    public async Task<int> ReclaimAbandonedHoldsAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using (var purge = dataSource.CreateCommand("DELETE FROM seat_reservation_tombstones WHERE released_at < @horizon"))
        {
            purge.Parameters.AddWithValue("horizon", now.UtcDateTime - options.Value.TombstoneRetention);
            await purge.ExecuteNonQueryAsync(cancellationToken);
        }

        var cutoff = now.UtcDateTime - options.Value.HoldGracePeriod;
        var reclaimed = 0;
        while (true)
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            var batch = new List<(Guid Id, int Quantity)>();
            // SKIP LOCKED: replicas split the work, and a hold being finalized or released right now is left to that request.
            await using (var pick = new NpgsqlCommand(
                """
                SELECT reservation_id, quantity FROM seat_reservations
                WHERE state = 'HELD' AND expires_at < @cutoff
                ORDER BY expires_at, reservation_id
                LIMIT @batch
                FOR UPDATE SKIP LOCKED
                """, connection, transaction))
            {
                pick.Parameters.AddWithValue("cutoff", cutoff);
                pick.Parameters.AddWithValue("batch", ReclaimBatchSize);
                await using var reader = await pick.ExecuteReaderAsync(cancellationToken);
                while (await reader.ReadAsync(cancellationToken))
                {
                    batch.Add((reader.GetGuid(0), reader.GetInt32(1)));
                }
            }

            if (batch.Count == 0)
            {
                return reclaimed;
            }

            await ReleaseSeatsAsync(
                transaction, batch.Select(r => r.Id).ToArray(), "HELD", batch.Sum(r => r.Quantity), "ABANDONED", cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            reclaimed += batch.Count;
            if (batch.Count < ReclaimBatchSize)
            {
                return reclaimed;
            }
        }
    }

    /// <summary>
    /// Serializes a reserve and a release of one reservation_id: the reservation row cannot do it, since a
    /// release finds no row to lock while a reserve's insert is uncommitted. The second one sees what the first committed.
    /// </summary>
    private static async Task LockReservationIdAsync(NpgsqlTransaction transaction, Guid reservationId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(@key)", transaction.Connection, transaction);
        // The last 8 bytes, the random part of a v4 or v7 UUID; a rare collision only makes two ids wait on each other.
        command.Parameters.AddWithValue("key", BinaryPrimitives.ReadInt64BigEndian(reservationId.ToByteArray(bigEndian: true).AsSpan(8)));
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>A reservation_id released before any reserve under it arrived holds nothing, ever.</summary>
    private static async Task RefuseIfReleasedAsync(NpgsqlTransaction transaction, Guid reservationId, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand(
            "SELECT 1 FROM seat_reservation_tombstones WHERE reservation_id = @reservation", transaction.Connection, transaction);
        read.Parameters.AddWithValue("reservation", reservationId);
        if (await read.ExecuteScalarAsync(cancellationToken) is not null)
        {
            throw VenueErrors.FailedPrecondition($"seat reservation {reservationId} was already released");
        }
    }

    /// <summary>
    /// Answers the release of a reservation_id that holds nothing (the caller compensates a reserve it never
    /// saw answered): RELEASED with no seats and no plan. Remembered, so that reserve is refused if it still arrives.
    /// </summary>
    private static async Task<SeatReservation> RememberReleaseAsync(
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

        return new SeatReservation { ReservationId = reservationId.ToString(), State = SeatReservationState.Released };
    }

    /// <summary>
    /// Inserts the reservation row, the claim on reservation_id: a concurrent duplicate waits on it
    /// and then answers as a retry. False when the id is taken or the plan does not exist.
    /// </summary>
    private static async Task<bool> TryStartReservationAsync(
        NpgsqlTransaction transaction, Guid reservationId, Guid planId, string? section, int quantity, DateTime expiresAt,
        CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO seat_reservations (reservation_id, plan_id, section, quantity, state, expires_at)
            SELECT @reservation, @plan, @section, @quantity, 'HELD', @expires
            WHERE EXISTS (SELECT 1 FROM seat_plans WHERE plan_id = @plan)
            ON CONFLICT (reservation_id) DO NOTHING
            """, transaction.Connection, transaction);
        insert.Parameters.AddWithValue("reservation", reservationId);
        insert.Parameters.AddWithValue("plan", planId);
        insert.Parameters.Add(new NpgsqlParameter("section", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)section ?? DBNull.Value });
        insert.Parameters.AddWithValue("quantity", quantity);
        insert.Parameters.AddWithValue("expires", expiresAt);
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static async Task<Reservation> ReadExistingAsync(
        NpgsqlTransaction transaction, Guid reservationId, Guid planId, CancellationToken cancellationToken) =>
        await ReadAsync(transaction, reservationId, cancellationToken)
        ?? throw VenueErrors.NotFound($"seat plan {planId} not found");

    /// <summary>Locks matching seats in id order (the global lock order) and returns their statuses.</summary>
    private static async Task<Dictionary<Guid, string>> LockSeatsAsync(
        NpgsqlTransaction transaction, string condition, string parameter, object value, CancellationToken cancellationToken)
    {
        await using var lockSeats = new NpgsqlCommand(
            $"SELECT seat_id, status FROM seats WHERE {condition} ORDER BY seat_id FOR UPDATE", transaction.Connection, transaction);
        lockSeats.Parameters.AddWithValue(parameter, value);
        var statuses = new Dictionary<Guid, string>();
        await using var reader = await lockSeats.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            statuses[reader.GetGuid(0)] = reader.GetString(1);
        }

        return statuses;
    }

    private static async Task HoldSeatsAsync(
        NpgsqlTransaction transaction, Guid reservationId, IReadOnlyList<Guid> seatIds, CancellationToken cancellationToken)
    {
        await using (var hold = new NpgsqlCommand(
            "UPDATE seats SET status = 'HELD', reservation_id = @reservation WHERE seat_id = ANY(@seats) AND status = 'AVAILABLE'",
            transaction.Connection, transaction))
        {
            hold.Parameters.AddWithValue("reservation", reservationId);
            hold.Parameters.AddWithValue("seats", seatIds.ToArray());
            // Only available seats are taken, and every seat asked for or none: a seat is never held twice.
            EnsureAllSeats(await hold.ExecuteNonQueryAsync(cancellationToken), seatIds.Count, $"seat reservation {reservationId}");
        }

        await using var record = new NpgsqlCommand(
            "INSERT INTO reservation_seats (reservation_id, seat_id) SELECT @reservation, unnest(@seats)",
            transaction.Connection, transaction);
        record.Parameters.AddWithValue("reservation", reservationId);
        record.Parameters.AddWithValue("seats", seatIds.ToArray());
        await record.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Puts the seats of reservations in <paramref name="state"/> (HELD or SOLD, locked above) back on sale.</summary>
    private static async Task ReleaseSeatsAsync(
        NpgsqlTransaction transaction, Guid[] reservationIds, string state, int seatCount, string reason, CancellationToken cancellationToken)
    {
        await LockSeatsAsync(transaction, "reservation_id = ANY(@reservations)", "reservations", reservationIds, cancellationToken);
        await using (var free = new NpgsqlCommand(
            "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL WHERE reservation_id = ANY(@reservations) AND status = @state",
            transaction.Connection, transaction))
        {
            free.Parameters.AddWithValue("reservations", reservationIds);
            free.Parameters.AddWithValue("state", state);
            // Only these reservations' seats in the state read under their lock go back on sale, all of them or none.
            EnsureAllSeats(await free.ExecuteNonQueryAsync(cancellationToken), seatCount, $"release of {reservationIds.Length} seat reservation(s)");
        }

        await using var release = new NpgsqlCommand(
            """
            UPDATE seat_reservations SET state = 'RELEASED', release_reason = @reason, order_id = NULL, released_at = now()
            WHERE reservation_id = ANY(@reservations) AND state = @state
            """, transaction.Connection, transaction);
        release.Parameters.AddWithValue("reservations", reservationIds);
        release.Parameters.AddWithValue("state", state);
        release.Parameters.AddWithValue("reason", reason);
        await release.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The guard's row count must equal the seats asked for; anything else rolls the transaction back.</summary>
    private static void EnsureAllSeats(int affected, int expected, string operation)
    {
        if (affected != expected)
        {
            throw VenueErrors.Aborted(
                $"{operation}: {affected} of {expected} seats changed state concurrently; nothing was changed, retry");
        }
    }

    /// <summary>Locks the reservation row: finalize, release and the reclaim pass take turns on it.</summary>
    private static async Task<Reservation> LockReservationAsync(
        NpgsqlTransaction transaction, Guid reservationId, CancellationToken cancellationToken) =>
        await ReadAsync(transaction, reservationId, cancellationToken, forUpdate: true)
        ?? throw VenueErrors.NotFound($"seat reservation {reservationId} not found");

    private static async Task<Reservation?> ReadAsync(
        NpgsqlTransaction transaction, Guid reservationId, CancellationToken cancellationToken, bool forUpdate = false)
    {
        Reservation? reservation = null;
        await using (var read = new NpgsqlCommand(
            $"""
            SELECT plan_id, section, quantity, state, expires_at, order_id, release_reason
            FROM seat_reservations WHERE reservation_id = @reservation {(forUpdate ? "FOR UPDATE" : "")}
            """, transaction.Connection, transaction))
        {
            read.Parameters.AddWithValue("reservation", reservationId);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            reservation = new Reservation(
                reservationId, reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt32(2),
                reader.GetString(3), reader.GetFieldValue<DateTime>(4), reader.IsDBNull(5) ? null : reader.GetGuid(5),
                reader.IsDBNull(6) ? null : reader.GetString(6), []);
        }

        await using var seats = new NpgsqlCommand(
            """
            SELECT s.seat_id, s.section, s.row_label, s.number, s.label
            FROM reservation_seats r
            JOIN seats s ON s.seat_id = r.seat_id
            JOIN plan_sections p ON p.plan_id = s.plan_id AND p.name = s.section
            WHERE r.reservation_id = @reservation
            ORDER BY p.position, s.row_rank, s.number
            """, transaction.Connection, transaction);
        seats.Parameters.AddWithValue("reservation", reservationId);
        await using var seatReader = await seats.ExecuteReaderAsync(cancellationToken);
        while (await seatReader.ReadAsync(cancellationToken))
        {
            reservation.Seats.Add(new ReservedSeat(
                seatReader.GetGuid(0), seatReader.GetString(1), seatReader.GetString(2), seatReader.GetInt32(3), seatReader.GetString(4)));
        }

        return reservation;
    }

    private sealed record PlannedSeat(Guid PlanId, string Section, string Label, (int Section, int Row, int Number) Order);

    private sealed record ReservedSeat(Guid SeatId, string Section, string Row, int Number, string Label);

    private sealed record Reservation(
        Guid ReservationId, Guid PlanId, string? Section, int Quantity, string State, DateTime ExpiresAt, Guid? OrderId,
        string? ReleaseReason, List<ReservedSeat> Seats)
    {
        public List<string> DifferencesFrom(Guid planId, string? section, int quantity, DateTime expiresAt)
        {
            var differences = new List<string>();
            if (PlanId != planId)
            {
                differences.Add("plan_id");
            }

            if ((Section is null) != (section is null))
            {
                differences.Add("kind of request (named seats or auto-assigned)");
            }
            else if (Section != section)
            {
                differences.Add("section");
            }

            if (section is not null && Quantity != quantity)
            {
                differences.Add("qty");
            }

            if (ExpiresAt != expiresAt)
            {
                differences.Add("expires_at");
            }

            return differences;
        }

        /// <summary>A retry gets the reservation as it stands; the same id with other arguments is refused.</summary>
        public SeatReservation AnswerRetry(List<string> differences) => differences.Count == 0
            ? ToMessage()
            : throw VenueErrors.AlreadyExists(
                $"seat reservation {ReservationId} already exists with a different {string.Join(", ", differences)}");

        public SeatReservation ToMessage()
        {
            // Seats are reported as this reservation left them; the seat map has the live status.
            var (state, seatStatus) = State switch
            {
                "HELD" => (SeatReservationState.Held, SeatStatus.Held),
                "SOLD" => (SeatReservationState.Sold, SeatStatus.Sold),
                _ => (SeatReservationState.Released, SeatStatus.Available),
            };
            return new SeatReservation
            {
                ReservationId = ReservationId.ToString(),
                PlanId = PlanId.ToString(),
                State = state,
                ExpiresAt = Timestamp.FromDateTime(ExpiresAt),
                Seats =
                {
                    Seats.Select(s => new Seat
                    {
                        SeatId = s.SeatId.ToString(),
                        Section = s.Section,
                        Row = s.Row,
                        Number = s.Number,
                        Label = s.Label,
                        Status = seatStatus,
                    }),
                },
            };
        }
    }
}
