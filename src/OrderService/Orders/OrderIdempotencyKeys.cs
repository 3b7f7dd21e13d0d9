using Npgsql;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Orders;

/// <summary>The ids an attempt places its order under: the same on a retry of an attempt that stopped mid-placement.</summary>
internal sealed record PlacementIds(Guid OrderId, Guid ReservationId, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt)
{
    public static PlacementIds New(DateTimeOffset now, TimeSpan hold) =>
        new(Guid.CreateVersion7(), Guid.CreateVersion7(), PostgresTime.TruncateToMicroseconds(now + hold), PostgresTime.TruncateToMicroseconds(now));
}

/// <summary>What a keyed POST /orders finds for its (user, Idempotency-Key).</summary>
internal abstract record KeyClaim
{
    /// <summary>
    /// The key is this attempt's: place the order under <paramref name="Ids"/>, or give the key back.
    /// <paramref name="Abandoned"/> is the reservation replaced by fresh ids, to be released first: of a stopped
    /// attempt whose hold ran out, or of a refused attempt that could not release it.
    /// </summary>
    public sealed record Owned(Guid Attempt, PlacementIds Ids, Guid? Abandoned = null) : KeyClaim;

    public sealed record Placed(Guid OrderId) : KeyClaim;

    /// <summary>Another attempt with this key is placing the order right now.</summary>
    public sealed record InProgress : KeyClaim;

    /// <summary>The key was first used with another request.</summary>
    public sealed record Mismatch : KeyClaim;
}

/// <summary>order_idempotency_keys: one attempt at a time per (user, key), and the order it placed.</summary>
internal sealed class OrderIdempotencyKeys(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// How long an attempt owns its key before a retry may take it over (its process is presumed dead):
    /// far longer than a placement, longer than the gateway's Gateway:UpstreamTimeout.
    /// </summary>
    public static readonly TimeSpan PlacementLock = TimeSpan.FromMinutes(1);

    public async Task<KeyClaim> ClaimAsync(string userId, string key, byte[] requestHash, PlacementIds fresh, CancellationToken cancellationToken)
    {
        // The row can vanish between the two statements (its attempt was refused): then claim again.
        while (true)
        {
            var attempt = Guid.CreateVersion7();
            await using (var claim = dataSource.CreateCommand(
                """
                -- The row as this statement found it (no FOR UPDATE: that would skip the row the upsert changes).
                WITH previous AS (
                    SELECT reservation_id FROM order_idempotency_keys WHERE user_id = @user AND idempotency_key = @key)
                INSERT INTO order_idempotency_keys AS k
                    (user_id, idempotency_key, request_hash, order_id, reservation_id, expires_at, created_at, attempt, locked_until)
                VALUES (@user, @key, @hash, @order, @reservation, @expires, @created, @attempt, now() + @lock)
                ON CONFLICT (user_id, idempotency_key) DO UPDATE
                    SET attempt = EXCLUDED.attempt, locked_until = EXCLUDED.locked_until,
                        -- Past expires_at the hold is not to be placed under (it ran out, or a refused attempt
                        -- gave it up): start afresh; the caller releases it first.
                        order_id = CASE WHEN k.expires_at > now() THEN k.order_id ELSE EXCLUDED.order_id END,
                        reservation_id = CASE WHEN k.expires_at > now() THEN k.reservation_id ELSE EXCLUDED.reservation_id END,
                        created_at = CASE WHEN k.expires_at > now() THEN k.created_at ELSE EXCLUDED.created_at END,
                        expires_at = CASE WHEN k.expires_at > now() THEN k.expires_at ELSE EXCLUDED.expires_at END
                    -- One attempt per key: only one that stopped mid-placement (lock passed, no order) is taken
                    -- over, and only by the same request.
                    WHERE k.locked_until < now() AND k.request_hash = EXCLUDED.request_hash
                      AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = k.order_id)
                RETURNING order_id, reservation_id, expires_at, created_at, (SELECT reservation_id FROM previous)
                """))
            {
                AddKey(claim, userId, key);
                claim.Parameters.AddWithValue("hash", requestHash);
                claim.Parameters.AddWithValue("order", fresh.OrderId);
                claim.Parameters.AddWithValue("reservation", fresh.ReservationId);
                claim.Parameters.AddWithValue("expires", fresh.ExpiresAt);
                claim.Parameters.AddWithValue("created", fresh.CreatedAt);
                claim.Parameters.AddWithValue("attempt", attempt);
                claim.Parameters.AddWithValue("lock", PlacementLock);
                await using var owned = await claim.ExecuteReaderAsync(cancellationToken);
                if (await owned.ReadAsync(cancellationToken))
                {
                    var ids = new PlacementIds(owned.GetGuid(0), owned.GetGuid(1), owned.GetFieldValue<DateTimeOffset>(2), owned.GetFieldValue<DateTimeOffset>(3));
                    var previous = owned.IsDBNull(4) ? (Guid?)null : owned.GetGuid(4);
                    return new KeyClaim.Owned(attempt, ids, previous is { } old && old != ids.ReservationId ? old : null);
                }
            }

            await using var read = dataSource.CreateCommand(
                """
                SELECT k.request_hash, k.order_id, EXISTS (SELECT 1 FROM orders o WHERE o.order_id = k.order_id)
                FROM order_idempotency_keys k WHERE k.user_id = @user AND k.idempotency_key = @key
                """);
            AddKey(read, userId, key);
            await using var reader = await read.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                continue;
            }

            if (!reader.GetFieldValue<byte[]>(0).AsSpan().SequenceEqual(requestHash))
            {
                return new KeyClaim.Mismatch();
            }

            return reader.GetBoolean(2) ? new KeyClaim.Placed(reader.GetGuid(1)) : new KeyClaim.InProgress();
        }
    }

    /// <summary>
    /// A refused attempt gives its holds up before releasing them: from now on no attempt places under its ids
    /// (a release may have happened whatever its answer, and a reserve under a released id answers the
    /// first hold as if it still held), and the lock lasts the releases. False when the key is no longer this
    /// attempt's: the attempt that took it over places the order under these holds.
    /// </summary>
    public async Task<bool> BeginReleaseAsync(string userId, string key, Guid attempt, CancellationToken cancellationToken)
    {
        await using var begin = dataSource.CreateCommand(
            """
            UPDATE order_idempotency_keys SET expires_at = now(), locked_until = now() + @lock
            WHERE user_id = @user AND idempotency_key = @key AND attempt = @attempt
            """);
        AddKey(begin, userId, key);
        begin.Parameters.AddWithValue("attempt", attempt);
        begin.Parameters.AddWithValue("lock", PlacementLock);
        return await begin.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// An attempt whose holds are released gives its key back (a retry starts afresh); false when the key is no
    /// longer this attempt's.
    /// </summary>
    public async Task<bool> GiveBackAsync(string userId, string key, Guid attempt, CancellationToken cancellationToken)
    {
        await using var giveBack = dataSource.CreateCommand(
            "DELETE FROM order_idempotency_keys WHERE user_id = @user AND idempotency_key = @key AND attempt = @attempt");
        AddKey(giveBack, userId, key);
        giveBack.Parameters.AddWithValue("attempt", attempt);
        return await giveBack.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// An attempt that could not release <paramref name="reservationId"/> leaves it to the client's retry: the key
    /// keeps it, unlocked, so the retry takes the key over at once and releases it before holding anew
    /// (a hold given up still counts against max_per_user). False when the key is no longer this attempt's.
    /// </summary>
    public async Task<bool> LeaveReleaseToRetryAsync(string userId, string key, Guid attempt, Guid reservationId, CancellationToken cancellationToken)
    {
        // Only this attempt's: the lock of one that took the key over stands.
        await using var leave = dataSource.CreateCommand(
            """
            UPDATE order_idempotency_keys SET reservation_id = @reservation, expires_at = now(), locked_until = now()
            WHERE user_id = @user AND idempotency_key = @key AND attempt = @attempt
            """);
        AddKey(leave, userId, key);
        leave.Parameters.AddWithValue("attempt", attempt);
        leave.Parameters.AddWithValue("reservation", reservationId);
        return await leave.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    private static void AddKey(NpgsqlCommand command, string userId, string key)
    {
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("key", key);
    }
}
