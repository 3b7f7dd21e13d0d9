using System.Globalization;
using Npgsql;
using NpgsqlTypes;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.State;

public enum StateOperationKind
{
    Upsert,
    Delete,
}

/// <summary>
/// One write of the state API (a save item, a delete or a transaction operation). With an
/// <paramref name="ETag"/> it applies only to that version; without one, <paramref name="FirstWrite"/>
/// makes a save insert-only (first-write-wins) and a save otherwise overwrites (last-write-wins).
/// </summary>
public sealed record StateOperation(
    StateOperationKind Kind, string Key, byte[]? Value, string? ETag, bool FirstWrite, IReadOnlyDictionary<string, string> Metadata);

/// <summary>A stored value, its ETag and, when saved with a TTL, when it expires.</summary>
public sealed record StateValue(byte[] Value, string ETag, DateTimeOffset? ExpiresAt)
{
    /// <summary>What daprd reports for a value with a TTL (metadata <c>ttlExpireTime</c>, RFC 3339).</summary>
    public Dictionary<string, string> Metadata => ExpiresAt is { } expiresAt
        ? new Dictionary<string, string> { ["ttlExpireTime"] = expiresAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture) }
        : new Dictionary<string, string>();
}

/// <summary>The state store is not a state component visible to the app (daprd: ERR_STATE_STORE_NOT_FOUND).</summary>
public sealed class StateStoreNotFoundException(string message, bool noneConfigured) : Exception(message)
{
    public bool NoneConfigured { get; } = noneConfigured;
}

/// <summary>A request the state API refuses as malformed (empty key, bad TTL); nothing was changed.</summary>
public sealed class InvalidStateRequestException(string message) : Exception(message);

/// <summary>
/// An ETag check failed (state.postgresql v2's <c>ETagMismatch</c>, which it also reports for an ETag that is not
/// a UUID); the whole request was rolled back.
/// </summary>
public sealed class StateETagMismatchException(string? cause = null)
    : Exception("possible etag mismatch. error from state store" + (cause is null ? "" : ": " + cause));

/// <summary>
/// A first-write save without an ETag found the key already there: state.postgresql v2 answers a plain error,
/// not an ETag error, so daprd reports it as a failure (500 / Internal); the whole request was rolled back.
/// </summary>
public sealed class StateFirstWriteConflictException() : Exception("no item was updated");

/// <summary>
/// The Dapr state API of one sidecar over the runtime's <c>state</c> table, as Dapr's state.postgresql
/// v2 component stores it: keys prefixed per the component's <c>keyPrefix</c> (default the app id,
/// <c>&lt;app-id&gt;||&lt;key&gt;</c>), a new uuid ETag on every write, <c>ttlInSeconds</c> metadata
/// as <c>expires_at</c> (an expired row reads as missing until the runtime's retention removes it).
/// Consistency options are accepted and always strong: one PostgreSQL has no replica to read stale.
/// </summary>
public sealed class StateStores(AppDescriptor app, RuntimeResources resources, NpgsqlDataSource database)
{
    private const string Separator = "||";

    public async Task<StateValue?> GetAsync(string storeName, string key, CancellationToken cancellationToken)
    {
        var values = await GetBulkAsync(storeName, [key], cancellationToken);
        return values[0].Value;
    }

    /// <summary>Every key's value (null when missing or expired), in the order asked.</summary>
    public async Task<IReadOnlyList<(string Key, StateValue? Value)>> GetBulkAsync(string storeName, IReadOnlyList<string> keys, CancellationToken cancellationToken)
    {
        var store = Resolve(storeName);
        var stored = keys.Select(k => StoredKey(store, k)).ToArray();
        await using var command = database.CreateCommand("""
            SELECT key, value, etag, expires_at FROM state
            WHERE store_name = @store AND key = ANY(@keys) AND (expires_at IS NULL OR expires_at >= now())
            """);
        command.Parameters.AddWithValue("store", store.Name);
        command.Parameters.AddWithValue("keys", stored);
        var found = new Dictionary<string, StateValue>(StringComparer.Ordinal);
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                found[reader.GetString(0)] = new StateValue(
                    reader.GetFieldValue<byte[]>(1), reader.GetGuid(2).ToString(), reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3));
            }
        }

        return [.. keys.Select((key, i) => (key, found.GetValueOrDefault(stored[i])))];
    }

    /// <summary>Applies every operation in one PostgreSQL transaction, or none of them.</summary>
    /// <exception cref="StateETagMismatchException">An ETag check failed.</exception>
    /// <exception cref="StateFirstWriteConflictException">A first-write save found the key already there.</exception>
    public async Task ApplyAsync(string storeName, IReadOnlyList<StateOperation> operations, CancellationToken cancellationToken)
    {
        var store = Resolve(storeName);
        var commands = operations.Select(o => (Operation: o, Command: CommandFor(store, o))).ToList();
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        foreach (var (operation, command) in commands)
        {
            await using (command)
            {
                command.Connection = connection;
                command.Transaction = transaction;
                var changed = await command.ExecuteNonQueryAsync(cancellationToken);
                // A conditional write that matched no row lost its race (or named a version that is gone).
                if (changed == 0 && operation.ETag is not null)
                {
                    throw new StateETagMismatchException();
                }

                if (changed == 0 && operation.Kind == StateOperationKind.Upsert && operation.FirstWrite)
                {
                    throw new StateFirstWriteConflictException();
                }
            }
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private NpgsqlCommand CommandFor(ComponentDefinition store, StateOperation operation)
    {
        var key = StoredKey(store, operation.Key);
        Guid? etag = operation.ETag is null ? null
            : Guid.TryParse(operation.ETag, out var parsed) ? parsed
            // As state.postgresql v2 (uuid.Parse's words): an ETag that is no UUID can match no version.
            : throw new StateETagMismatchException(operation.ETag.Length is 32 or 36 or 38 or 45 ? "invalid UUID format" : $"invalid UUID length: {operation.ETag.Length}");
        var command = new NpgsqlCommand();
        command.Parameters.AddWithValue("store", store.Name);
        command.Parameters.AddWithValue("key", key);
        command.Parameters.Add(new NpgsqlParameter<Guid?>("etag", NpgsqlDbType.Uuid) { TypedValue = etag });
        if (operation.Kind == StateOperationKind.Delete)
        {
            command.CommandText = "DELETE FROM state WHERE store_name = @store AND key = @key AND (@etag IS NULL OR etag = @etag)";
            return command;
        }

        command.Parameters.AddWithValue("value", operation.Value ?? "null"u8.ToArray());
        command.Parameters.AddWithValue("new_etag", Guid.NewGuid());
        command.Parameters.Add(new NpgsqlParameter<int?>("ttl", NpgsqlDbType.Integer) { TypedValue = TtlInSeconds(operation.Metadata) });
        const string expiresAt = "CASE WHEN @ttl > 0 THEN now() + make_interval(secs => @ttl) END";
        command.CommandText = etag is not null
            ? $"""
               UPDATE state SET value = @value, etag = @new_etag, updated_at = now(), expires_at = {expiresAt}
               WHERE store_name = @store AND key = @key AND etag = @etag AND (expires_at IS NULL OR expires_at >= now())
               """
            // First-write-wins without an ETag inserts only: an existing (unexpired) row stays as it is.
            : $"""
               INSERT INTO state (store_name, key, value, etag, expires_at) VALUES (@store, @key, @value, @new_etag, {expiresAt})
               ON CONFLICT (store_name, key) DO UPDATE
               SET value = excluded.value, etag = excluded.etag, updated_at = now(), expires_at = excluded.expires_at
               {(operation.FirstWrite ? "WHERE state.expires_at IS NOT NULL AND state.expires_at < now()" : "")}
               """;
        return command;
    }

    /// <summary>Dapr's <c>ttlInSeconds</c>: a whole number of seconds; -1 (or none) keeps the value forever.</summary>
    private static int? TtlInSeconds(IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("ttlInSeconds", out var text))
        {
            return null;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds >= -1
            ? seconds
            : throw new InvalidStateRequestException($"metadata property ttlInSeconds is '{text}': it must be a whole number of seconds, or -1 for none");
    }

    private ComponentDefinition Resolve(string storeName)
    {
        var stores = resources.ComponentsFor(app.AppId).Where(c => c.Type.StartsWith("state.", StringComparison.Ordinal)).ToList();
        if (stores.Count == 0)
        {
            throw new StateStoreNotFoundException("state store is not configured", noneConfigured: true);
        }

        return stores.FirstOrDefault(c => c.Name == storeName)
            ?? throw new StateStoreNotFoundException($"state store {storeName} is not found", noneConfigured: false);
    }

    /// <summary>Dapr's key scheme: <c>keyPrefix</c> appid (default), name (the store's), namespace, none, or a fixed prefix.</summary>
    private string StoredKey(ComponentDefinition store, string key)
    {
        if (string.IsNullOrEmpty(key))
        {
            throw new InvalidStateRequestException("missing key in state request");
        }

        var prefix = store.MetadataValue("keyPrefix")?.Trim() switch
        {
            null or "" or "appid" => app.AppId,
            "name" => store.Name,
            // Self-hosted: no namespace, so daprd uses the app id alone.
            "namespace" => app.AppId,
            "none" => null,
            var fixedPrefix => fixedPrefix,
        };
        if (prefix is null)
        {
            return key;
        }

        return key.Contains(Separator, StringComparison.Ordinal)
            ? throw new InvalidStateRequestException($"input key/keyPrefix '{key}' can't contain '{Separator}'")
            : prefix + Separator + key;
    }
}
