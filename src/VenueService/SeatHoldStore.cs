using Npgsql;
using TicketSaga.ServiceDefaults;
using static TicketSaga.VenueService.SeatReservationRows;

namespace TicketSaga.VenueService;

/// <summary>
/// Takes seat holds: named seats or the best seats of a section. Idempotent by reservation_id, one
/// transaction each (concurrent auto-assigns of a section share one), in the lock order of
/// <see cref="SeatReservationRows"/>.
/// </summary>
public sealed class SeatHoldStore(NpgsqlDataSource dataSource)
{
    private readonly SectionAutoAssigner _autoAssigner = new(dataSource);

    public async Task<SeatReservationRecord> ReserveHeldSeatsAsync(
        Guid planId, Guid reservationId, IReadOnlyList<Guid> seatIds, string? section, DateTime expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await ReservationIdLock.AcquireAsync(connection, [reservationId], cancellationToken);
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
        return reservation!;
    }

    /// <summary>The best seats of a section; concurrent requests for one section are served together (<see cref="SectionAutoAssigner"/>).</summary>
    public Task<SeatReservationRecord> AutoAssignAndReserveAsync(
        Guid planId, Guid reservationId, string section, int quantity, DateTime expiresAt, CancellationToken cancellationToken) =>
        _autoAssigner.ReserveAsync(planId, reservationId, section, quantity, expiresAt, cancellationToken);

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
    /// Inserts the reservation row, the claim on reservation_id: a concurrent duplicate waits on it
    /// and then answers as a retry. False when the id is taken or the plan does not exist.
    /// </summary>
    private static async Task<bool> TryStartReservationAsync(
        NpgsqlTransaction transaction, Guid reservationId, Guid planId, string? section, int quantity, DateTime expiresAt,
        CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO seat_reservations (reservation_id, plan_id, section, quantity, status, expires_at)
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

    private static async Task<SeatReservationRecord> ReadExistingAsync(
        NpgsqlTransaction transaction, Guid reservationId, Guid planId, CancellationToken cancellationToken) =>
        await ReadAsync(transaction, reservationId, cancellationToken)
        ?? throw VenueErrors.NotFound($"seat plan {planId} not found");

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

    private sealed record PlannedSeat(Guid PlanId, string Section, string Label, (int Section, int Row, int Number) Order);
}
