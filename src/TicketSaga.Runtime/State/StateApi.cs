using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TicketSaga.Runtime.Api;

namespace TicketSaga.Runtime.State;

/// <summary>
/// Dapr's HTTP state API, <c>/v1.0/state/&lt;store&gt;</c>: get, save (an array), delete, bulk get and
/// transaction (save, bulk get and transaction by POST or PUT), with daprd's status codes and error bodies. Like
/// every sidecar route, it is behind the Dapr API token check.
/// </summary>
public static class StateApi
{
    public static WebApplication MapStateApi(this WebApplication web)
    {
        var state = web.MapGroup("/v1.0/state/{store}");
        state.MapGet("/{key}", async (string store, string key, HttpRequest request, StateStores stores, CancellationToken cancellationToken) =>
            await Answer("ERR_STATE_GET", "", async () =>
            {
                if (await stores.GetAsync(store, key, cancellationToken) is not { } value)
                {
                    return Results.NoContent();
                }

                request.HttpContext.Response.Headers.ETag = value.ETag;
                foreach (var (name, text) in value.Metadata)
                {
                    request.HttpContext.Response.Headers["metadata." + name] = text;
                }

                return Results.Bytes(value.Value, IsJson(value.Value) ? "application/json" : "application/octet-stream");
            }));
        state.MapMethods("/", SaveMethods, async (string store, HttpRequest request, StateStores stores, CancellationToken cancellationToken) =>
            await Answer("ERR_STATE_SAVE", $"failed saving state in state store {store}: ", async () =>
            {
                using var body = await ReadJsonAsync(request, cancellationToken);
                if (body.RootElement.ValueKind != JsonValueKind.Array)
                {
                    throw new InvalidStateRequestException("the body must be a JSON array of {key, value, etag?, metadata?, options?}");
                }

                var query = QueryMetadata(request);
                await stores.ApplyAsync(store, [.. body.RootElement.EnumerateArray().Select(item => ReadOperation(StateOperationKind.Upsert, item, query))], cancellationToken);
                return Results.NoContent();
            }));
        state.MapDelete("/{key}", async (string store, string key, HttpRequest request, StateStores stores, CancellationToken cancellationToken) =>
            await Answer("ERR_STATE_DELETE", $"failed deleting state with key {key}: ", async () =>
            {
                var etag = request.Headers.IfMatch.ToString() is { Length: > 0 } ifMatch ? ifMatch : null;
                var firstWrite = request.Query["concurrency"] == "first-write";
                await stores.ApplyAsync(store, [new StateOperation(StateOperationKind.Delete, key, null, etag, firstWrite, QueryMetadata(request))], cancellationToken);
                return Results.NoContent();
            }));
        state.MapMethods("/bulk", SaveMethods, async (string store, HttpRequest request, StateStores stores, CancellationToken cancellationToken) =>
            await Answer("ERR_STATE_BULK_GET", "", async () =>
            {
                using var body = await ReadJsonAsync(request, cancellationToken);
                if (body.RootElement.ValueKind != JsonValueKind.Object || !body.RootElement.TryGetProperty("keys", out var keys) || keys.ValueKind != JsonValueKind.Array)
                {
                    throw new InvalidStateRequestException("the body must be {\"keys\": [..]}");
                }

                var values = await stores.GetBulkAsync(store, [.. keys.EnumerateArray().Select(k => k.GetString() ?? "")], cancellationToken);
                return Results.Json(values.Select(v => v.Value is { } found
                    ? new BulkStateItem(v.Key, DataOf(found.Value), found.ETag, found.ExpiresAt is null ? null : found.Metadata)
                    : new BulkStateItem(v.Key, null, null, null)), OmitNulls);
            }));
        state.MapMethods("/transaction", SaveMethods, async (string store, HttpRequest request, StateStores stores, CancellationToken cancellationToken) =>
            await Answer("ERR_STATE_TRANSACTION", "error while executing state transaction: ", transaction: true, handle: async () =>
            {
                using var body = await ReadJsonAsync(request, cancellationToken);
                if (body.RootElement.ValueKind != JsonValueKind.Object || !body.RootElement.TryGetProperty("operations", out var operations) || operations.ValueKind != JsonValueKind.Array)
                {
                    throw new InvalidStateRequestException("the body must be {\"operations\": [{\"operation\": \"upsert\"|\"delete\", \"request\": {..}}]}");
                }

                var query = QueryMetadata(request);
                var parsed = new List<StateOperation>();
                foreach (var operation in operations.EnumerateArray())
                {
                    var kind = StringOf(operation, "operation") switch
                    {
                        "upsert" => StateOperationKind.Upsert,
                        "delete" => StateOperationKind.Delete,
                        var other => throw new InvalidStateRequestException($"operation type {other} not supported"),
                    };
                    parsed.Add(ReadOperation(kind, operation.TryGetProperty("request", out var item) ? item : throw new InvalidStateRequestException("each operation needs a request"), query));
                }

                await stores.ApplyAsync(store, parsed, cancellationToken);
                return Results.NoContent();
            }));
        return web;
    }

    /// <summary>daprd routes save, bulk and transaction for POST and PUT alike (pkg/api/http/http.go).</summary>
    private static readonly string[] SaveMethods = [HttpMethods.Post, HttpMethods.Put];

    private static readonly JsonSerializerOptions OmitNulls = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    private sealed record BulkStateItem(string Key, JsonElement? Data, string? Etag, IReadOnlyDictionary<string, string>? Metadata);

    /// <summary>
    /// daprd's answers (pkg/api/http/http.go): 400 for an unknown store or a malformed request; a save or delete answers
    /// 409 for an ETag mismatch and 500 for any other store error (a first-write conflict); a transaction answers 500 for both.
    /// </summary>
    private static async Task<IResult> Answer(string errorCode, string failurePrefix, Func<Task<IResult>> handle, bool transaction = false)
    {
        try
        {
            return await handle();
        }
        catch (StateStoreNotFoundException ex)
        {
            return ex.NoneConfigured
                ? Results.Json(new DaprError("ERR_STATE_STORE_NOT_CONFIGURED", ex.Message), statusCode: StatusCodes.Status500InternalServerError)
                : Results.Json(new DaprError("ERR_STATE_STORE_NOT_FOUND", ex.Message), statusCode: StatusCodes.Status400BadRequest);
        }
        catch (InvalidStateRequestException ex)
        {
            return Results.Json(new DaprError("ERR_MALFORMED_REQUEST", ex.Message), statusCode: StatusCodes.Status400BadRequest);
        }
        catch (StateETagMismatchException ex)
        {
            return Results.Json(new DaprError(errorCode, failurePrefix + ex.Message), statusCode: transaction ? StatusCodes.Status500InternalServerError : StatusCodes.Status409Conflict);
        }
        catch (StateFirstWriteConflictException ex)
        {
            return Results.Json(new DaprError(errorCode, failurePrefix + ex.Message), statusCode: StatusCodes.Status500InternalServerError);
        }
    }

    private static async Task<JsonDocument> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        }
        catch (JsonException ex)
        {
            throw new InvalidStateRequestException($"the body is not JSON: {ex.Message}");
        }
    }

    /// <summary>
    /// A save item / transaction request: <c>{key, value, etag, metadata, options: {concurrency, consistency}}</c>; the
    /// request's <c>?metadata.x=</c> query parameters apply to every item and win over its own, as in daprd.
    /// </summary>
    private static StateOperation ReadOperation(StateOperationKind kind, JsonElement item, IReadOnlyDictionary<string, string> queryMetadata)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidStateRequestException("each state item must be a JSON object with a key");
        }

        var key = StringOf(item, "key") ?? throw new InvalidStateRequestException("missing key in state item");
        var value = item.TryGetProperty("value", out var v) ? Encoding.UTF8.GetBytes(v.GetRawText()) : null;
        var etag = StringOf(item, "etag") is { Length: > 0 } tag ? tag : null;
        var firstWrite = item.TryGetProperty("options", out var options) && options.ValueKind == JsonValueKind.Object && StringOf(options, "concurrency") == "first-write";
        var metadata = new Dictionary<string, string>();
        if (item.TryGetProperty("metadata", out var entries) && entries.ValueKind == JsonValueKind.Object)
        {
            foreach (var entry in entries.EnumerateObject())
            {
                metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
            }
        }

        foreach (var (name, text) in queryMetadata)
        {
            metadata[name] = text;
        }

        return new StateOperation(kind, key, value, etag, firstWrite, metadata);
    }

    private static string? StringOf(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static Dictionary<string, string> QueryMetadata(HttpRequest request) => request.Query
        .Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal))
        .ToDictionary(q => q.Key["metadata.".Length..], q => q.Value.ToString());

    /// <summary>A JSON value as itself; other bytes as a base64 string.</summary>
    private static JsonElement DataOf(byte[] value) =>
        IsJson(value) ? JsonDocument.Parse(value).RootElement.Clone() : JsonSerializer.SerializeToElement(Convert.ToBase64String(value));

    private static bool IsJson(byte[] value)
    {
        try
        {
            using var _ = JsonDocument.Parse(value);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
