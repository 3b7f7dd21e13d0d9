using System.Text.Json;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

namespace TicketSaga.Gateway.Idempotency;

/// <summary>The first answer kept for a key: status, the headers a client needs, body.</summary>
public sealed record StoredResponse(int StatusCode, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>What a request finds for its key.</summary>
public abstract record KeyClaim
{
    /// <summary>The key is this request's: forward it, then complete the key or leave its outcome unknown.</summary>
    public sealed record Owned(Guid Owner) : KeyClaim;

    public sealed record Completed(StoredResponse Response) : KeyClaim;

    public sealed record InProgress : KeyClaim;

    /// <summary>The key was first used with another request.</summary>
    public sealed record Mismatch : KeyClaim;
}

/// <summary>Idempotency keys in the gateway's database, one row per (user, key).</summary>
public sealed class IdempotencyStore(NpgsqlDataSource dataSource, IOptions<IdempotencyOptions> options)
{
    private readonly IdempotencyOptions _settings = options.Value;

    public async Task<KeyClaim> ClaimAsync(string userId, string key, byte[] requestHash, CancellationToken cancellationToken)
    {
        // The row can vanish between the two statements (it expired and was deleted): then claim again.
        while (true)
        {
            var owner = Guid.CreateVersion7();
            await using (var claim = dataSource.CreateCommand(
                """
                INSERT INTO idempotency_keys (user_id, idempotency_key, request_hash, owner, locked_until, expires_at)
                VALUES (@user, @key, @hash, @owner, now() + @lock, now() + @lifetime)
                ON CONFLICT (user_id, idempotency_key) DO UPDATE
                    SET request_hash = EXCLUDED.request_hash, owner = EXCLUDED.owner, status_code = NULL,
                        response_headers = NULL, response_body = NULL, locked_until = EXCLUDED.locked_until,
                        expires_at = EXCLUDED.expires_at, created_at = now()
                    -- One owner per key: only an expired key is taken over by any request. A key whose outcome
                    -- is unknown (its owner had no answer to keep, or stopped answering) is taken over by the same
                    -- request only: the first may have placed an order, so the key must not change meaning.
                    WHERE idempotency_keys.expires_at < now()
                       OR (idempotency_keys.status_code IS NULL AND idempotency_keys.locked_until <= now()
                           AND idempotency_keys.request_hash = EXCLUDED.request_hash)
                RETURNING owner
                """))
            {
                AddKey(claim, userId, key);
                claim.Parameters.AddWithValue("hash", requestHash);
                claim.Parameters.AddWithValue("owner", owner);
                claim.Parameters.AddWithValue("lock", _settings.InFlightLock);
                claim.Parameters.AddWithValue("lifetime", _settings.KeyLifetime);
                if (await claim.ExecuteScalarAsync(cancellationToken) is Guid)
                {
                    return new KeyClaim.Owned(owner);
                }
            }

            await using var read = dataSource.CreateCommand(
                """
                SELECT request_hash, status_code, response_headers, response_body
                FROM idempotency_keys WHERE user_id = @user AND idempotency_key = @key
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

            return reader.IsDBNull(1)
                ? new KeyClaim.InProgress()
                : new KeyClaim.Completed(new StoredResponse(
                    reader.GetInt32(1),
                    JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(2))!,
                    reader.GetFieldValue<byte[]>(3)));
        }
    }

    /// <summary>Whether the user's key is in use: answered, in flight, or with its outcome unknown.</summary>
    public async Task<bool> IsKnownAsync(string userId, string key, CancellationToken cancellationToken)
    {
        await using var read = dataSource.CreateCommand(
            "SELECT EXISTS (SELECT FROM idempotency_keys WHERE user_id = @user AND idempotency_key = @key AND expires_at >= now())");
        AddKey(read, userId, key);
        return (bool)(await read.ExecuteScalarAsync(cancellationToken))!;
    }

    public async Task CompleteAsync(string userId, string key, Guid owner, StoredResponse response, CancellationToken cancellationToken)
    {
        // Only the owner completes: a request whose lock was taken over must not overwrite the new owner's answer.
        await using var complete = dataSource.CreateCommand(
            """
            UPDATE idempotency_keys SET status_code = @status, response_headers = @headers, response_body = @body
            WHERE user_id = @user AND idempotency_key = @key AND owner = @owner
            """);
        AddKey(complete, userId, key);
        complete.Parameters.AddWithValue("owner", owner);
        complete.Parameters.AddWithValue("status", response.StatusCode);
        complete.Parameters.AddWithValue("headers", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(response.Headers));
        complete.Parameters.AddWithValue("body", response.Body);
        await complete.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Unlocks the key without an answer (a 5xx, a failed forward, a timeout, "retry later"): the outcome
    /// is unknown, so the key keeps its request. The same request with it is forwarded again (order-service
    /// answers the order the first one placed, if it did); another request with it stays 422.
    /// </summary>
    public async Task UnlockAsync(string userId, string key, Guid owner, CancellationToken cancellationToken)
    {
        await using var unlock = dataSource.CreateCommand(
            "UPDATE idempotency_keys SET locked_until = now() WHERE user_id = @user AND idempotency_key = @key AND owner = @owner AND status_code IS NULL");
        AddKey(unlock, userId, key);
        unlock.Parameters.AddWithValue("owner", owner);
        await unlock.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Deletes the key of a request whose client left before any answer: the forward was cancelled with it, so
    /// order-service gave its own key back (or, if its commit won the race, keeps the order under it and answers
    /// it to a retry). Without this, a key nobody waits on would let its retries past the order door for a day.
    /// </summary>
    public async Task ForgetAsync(string userId, string key, Guid owner, CancellationToken cancellationToken)
    {
        await using var forget = dataSource.CreateCommand(
            "DELETE FROM idempotency_keys WHERE user_id = @user AND idempotency_key = @key AND owner = @owner AND status_code IS NULL");
        AddKey(forget, userId, key);
        forget.Parameters.AddWithValue("owner", owner);
        await forget.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> DeleteExpiredAsync(CancellationToken cancellationToken)
    {
        await using var delete = dataSource.CreateCommand("DELETE FROM idempotency_keys WHERE expires_at < now()");
        return await delete.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddKey(NpgsqlCommand command, string userId, string key)
    {
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("key", key);
    }
}
