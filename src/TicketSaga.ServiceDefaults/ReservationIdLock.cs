using System.Buffers.Binary;
using Npgsql;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// A transaction-scoped advisory lock per reservation_id (ticket-service and venue-service). A reserve
/// and a release of one id both take it before looking for the other's row — a release finds no row to
/// lock while a reserve's insert is uncommitted — so whichever commits second sees the first's outcome.
/// </summary>
public static class ReservationIdLock
{
    /// <summary>Locks the ids in key order, the order every transaction uses, so lockers never deadlock.</summary>
    public static async Task AcquireAsync(NpgsqlConnection connection, IEnumerable<Guid> reservationIds, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT pg_advisory_xact_lock(key) FROM unnest(@keys) AS key", connection);
        command.Parameters.AddWithValue("keys", reservationIds.Select(Key).Distinct().Order().ToArray());
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The last 8 bytes: the random part of a v4 or v7 UUID (a rare collision only makes two ids wait on each other).</summary>
    private static long Key(Guid reservationId) => BinaryPrimitives.ReadInt64BigEndian(reservationId.ToByteArray(bigEndian: true).AsSpan(8));
}
