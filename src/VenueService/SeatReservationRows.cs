using Npgsql;

namespace TicketSaga.VenueService;

/// <summary>
/// The reads and writes the seat reservation stores share. Locks are always taken in the same order —
/// the reservation_id's advisory lock (reserve and release), the reservation row, then sections by name,
/// then seats by id — so concurrent reservers, finalizers, releasers and reclaim passes wait for each
/// other but never deadlock.
/// </summary>
internal static class SeatReservationRows
{
    /// <summary>Locks matching seats in id order (the global lock order) and returns their statuses.</summary>
    internal static async Task<Dictionary<Guid, string>> LockSeatsAsync(
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

    /// <summary>Puts the seats of reservations in <paramref name="state"/> (held or sold, locked above) back on sale.</summary>
    internal static async Task ReleaseSeatsAsync(
        NpgsqlTransaction transaction, Guid[] reservationIds, SeatReservationStatus state, int seatCount, string reason, CancellationToken cancellationToken)
    {
        await LockSeatsAsync(transaction, "reservation_id = ANY(@reservations)", "reservations", reservationIds, cancellationToken);
        await using (var free = new NpgsqlCommand(
            "UPDATE seats SET status = 'AVAILABLE', reservation_id = NULL WHERE reservation_id = ANY(@reservations) AND status = @state",
            transaction.Connection, transaction))
        {
            free.Parameters.AddWithValue("reservations", reservationIds);
            free.Parameters.AddWithValue("state", state.ToText());
            // Only these reservations' seats in the state read under their lock go back on sale, all of them or none.
            EnsureAllSeats(await free.ExecuteNonQueryAsync(cancellationToken), seatCount, $"release of {reservationIds.Length} seat reservation(s)");
        }

        await using var release = new NpgsqlCommand(
            """
            UPDATE seat_reservations SET status = 'RELEASED', release_reason = @reason, order_id = NULL, released_at = now()
            WHERE reservation_id = ANY(@reservations) AND status = @state
            """, transaction.Connection, transaction);
        release.Parameters.AddWithValue("reservations", reservationIds);
        release.Parameters.AddWithValue("state", state.ToText());
        release.Parameters.AddWithValue("reason", reason);
        await release.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The guard's row count must equal the seats asked for; anything else rolls the transaction back.</summary>
    internal static void EnsureAllSeats(int affected, int expected, string operation)
    {
        if (affected != expected)
        {
            throw VenueErrors.Aborted(
                $"{operation}: {affected} of {expected} seats changed state concurrently; nothing was changed, retry");
        }
    }

    /// <summary>Locks the reservation row: finalize, release and the reclaim pass take turns on it.</summary>
    internal static async Task<SeatReservationRecord> LockReservationAsync(
        NpgsqlTransaction transaction, Guid reservationId, CancellationToken cancellationToken) =>
        await ReadAsync(transaction, reservationId, cancellationToken, forUpdate: true)
        ?? throw VenueErrors.NotFound($"seat reservation {reservationId} not found");

    internal static async Task<SeatReservationRecord?> ReadAsync(
        NpgsqlTransaction transaction, Guid reservationId, CancellationToken cancellationToken, bool forUpdate = false)
    {
        await using var read = new NpgsqlCommand(
            $"""
            SELECT plan_id, section, quantity, status, expires_at, order_id, release_reason
            FROM seat_reservations WHERE reservation_id = @reservation {(forUpdate ? "FOR UPDATE" : "")}
            """, transaction.Connection, transaction);
        read.Parameters.AddWithValue("reservation", reservationId);
        await using (var reader = await read.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            var reservation = new SeatReservationRecord(
                reservationId, reader.GetGuid(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt32(2),
                SeatReservationStatuses.Parse(reader.GetString(3)), reader.GetFieldValue<DateTime>(4), reader.IsDBNull(5) ? null : reader.GetGuid(5),
                reader.IsDBNull(6) ? null : reader.GetString(6), []);
            await reader.CloseAsync();
            return reservation with { Seats = await ReadSeatsAsync(transaction, reservationId, cancellationToken) };
        }
    }

    private static async Task<List<ReservedSeat>> ReadSeatsAsync(NpgsqlTransaction transaction, Guid reservationId, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand(
            """
            SELECT s.seat_id, s.section, s.row_label, s.number, s.label
            FROM reservation_seats r
            JOIN seats s ON s.seat_id = r.seat_id
            JOIN plan_sections p ON p.plan_id = s.plan_id AND p.name = s.section
            WHERE r.reservation_id = @reservation
            ORDER BY p.position, s.row_rank, s.number
            """, transaction.Connection, transaction);
        read.Parameters.AddWithValue("reservation", reservationId);
        var seats = new List<ReservedSeat>();
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            seats.Add(new ReservedSeat(reader.GetGuid(0), reader.GetString(1), reader.GetString(2), reader.GetInt32(3), reader.GetString(4)));
        }

        return seats;
    }
}
