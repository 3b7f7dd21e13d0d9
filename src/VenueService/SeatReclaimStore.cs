using Microsoft.Extensions.Options;
using Npgsql;
using static TicketSaga.VenueService.SeatReservationRows;

namespace TicketSaga.VenueService;

/// <summary>Gives back seat holds nobody finalized or released, and forgets old releases of unknown reservation_ids.</summary>
public sealed class SeatReclaimStore(NpgsqlDataSource dataSource, IOptions<VenueOptions> options)
{
    private const int ReclaimBatchSize = 100;

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

        var cutoff = now.UtcDateTime - options.Value.AbandonedHoldGrace;
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
                WHERE status = 'HELD' AND expires_at < @cutoff
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
                transaction, batch.Select(r => r.Id).ToArray(), SeatReservationStatus.Held, batch.Sum(r => r.Quantity), "ABANDONED", cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            reclaimed += batch.Count;
            if (batch.Count < ReclaimBatchSize)
            {
                return reclaimed;
            }
        }
    }
}
