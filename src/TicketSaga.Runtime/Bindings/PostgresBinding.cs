using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;

namespace TicketSaga.Runtime.Bindings;

/// <summary>
/// Dapr's <c>bindings.postgresql</c> (alias <c>bindings.postgres</c>) output binding, as components-contrib's
/// bindings/postgres answers: <c>exec</c> and <c>query</c> run metadata <c>sql</c> with the JSON array of metadata
/// <c>params</c> as <c>$1</c>, <c>$2</c>…; <c>close</c> closes the pool, after which every other call fails. The answer's
/// metadata: <c>operation</c>, <c>sql</c>, <c>start-time</c>, <c>end-time</c>, <c>duration</c> and, for exec, <c>rows-affected</c>;
/// a query's data is its rows as JSON arrays of values.
/// </summary>
public sealed class PostgresBinding(string connectionString) : IOutputBinding
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(PostgresConnectionString.ToNpgsql(connectionString));
    private int _closed;

    public IReadOnlyList<string> Operations { get; } = ["exec", "query", "close"];

    public async Task<BindingResponse?> InvokeAsync(BindingRequest request, CancellationToken cancellationToken)
    {
        if (request.Operation == "close")
        {
            await DisposeAsync();
            return null;
        }

        if (Volatile.Read(ref _closed) == 1)
        {
            throw new BindingInvocationException("component is closed");
        }

        if (request.Metadata.GetValueOrDefault("sql") is not { Length: > 0 } sql)
        {
            throw new BindingInvocationException("required metadata not set: sql");
        }

        var parameters = Parameters(request.Metadata.GetValueOrDefault("params"));
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var metadata = new Dictionary<string, string>
        {
            ["operation"] = request.Operation,
            ["sql"] = sql,
            ["start-time"] = RoundTrip(started),
        };
        byte[]? data = null;
        await using var command = _dataSource.CreateCommand(sql);
        command.Parameters.AddRange(parameters);
        try
        {
            if (request.Operation == "exec")
            {
                metadata["rows-affected"] = (await command.ExecuteNonQueryAsync(cancellationToken)).ToString(CultureInfo.InvariantCulture);
            }
            else
            {
                data = await QueryAsync(command, cancellationToken);
            }
        }
        catch (PostgresException ex)
        {
            // pgx's wording of a server error, which daprd passes on.
            throw new BindingInvocationException($"error executing query: {ex.Severity}: {ex.MessageText} (SQLSTATE {ex.SqlState})");
        }
        catch (NpgsqlException ex)
        {
            throw new BindingInvocationException($"error executing query: {ex.Message}");
        }

        metadata["end-time"] = RoundTrip(started + clock.Elapsed);
        metadata["duration"] = GoDuration.Format(clock.Elapsed);
        return new BindingResponse(data, metadata);
    }

    /// <summary>
    /// <c>params</c> is a JSON array; each value goes to PostgreSQL untyped (as its text), so the server types it from
    /// the statement, as pgx's prepared statements do.
    /// </summary>
    private static NpgsqlParameter[] Parameters(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return [];
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            if (document.RootElement.ValueKind != JsonValueKind.Array)
            {
                throw new JsonException($"cannot unmarshal {document.RootElement.ValueKind.ToString().ToLowerInvariant()} into an array");
            }

            return [.. document.RootElement.EnumerateArray().Select(value => new NpgsqlParameter
            {
                NpgsqlDbType = NpgsqlDbType.Unknown,
                Value = value.ValueKind switch
                {
                    JsonValueKind.Null => DBNull.Value,
                    JsonValueKind.String => value.GetString(),
                    _ => value.GetRawText(),
                },
            })];
        }
        catch (JsonException ex)
        {
            throw new BindingInvocationException($"invalid metadata property params: failed to unserialize into an array: {ex.Message}");
        }
    }

    /// <summary>The rows as a JSON array of arrays, values as Go's encoding/json writes what pgx reads.</summary>
    private static async Task<byte[]> QueryAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await using (var json = new Utf8JsonWriter(buffer))
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            json.WriteStartArray();
            while (await reader.ReadAsync(cancellationToken))
            {
                json.WriteStartArray();
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    WriteValue(json, reader.IsDBNull(i) ? null : reader.GetValue(i), reader.GetDataTypeName(i));
                }

                json.WriteEndArray();
            }

            json.WriteEndArray();
        }

        return buffer.ToArray();
    }

    private static void WriteValue(Utf8JsonWriter json, object? value, string dataType)
    {
        switch (value)
        {
            case null:
                json.WriteNullValue();
                break;
            case bool flag:
                json.WriteBooleanValue(flag);
                break;
            case short or int or long or float or double or decimal:
                json.WriteRawValue(Convert.ToString(value, CultureInfo.InvariantCulture)!);
                break;
            case DateTime time:
                json.WriteStringValue(RoundTrip(new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc))));
                break;
            case byte[] bytes:
                json.WriteBase64StringValue(bytes);
                break;
            case string text when dataType is "json" or "jsonb":
                json.WriteRawValue(text);
                break;
            default:
                json.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    /// <summary>Go's <c>time.RFC3339Nano</c> in UTC: fraction without trailing zeros, <c>Z</c>.</summary>
    private static string RoundTrip(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        // Closing twice is allowed, as in components-contrib.
        if (Interlocked.Exchange(ref _closed, 1) == 0)
        {
            await _dataSource.DisposeAsync();
        }
    }
}
