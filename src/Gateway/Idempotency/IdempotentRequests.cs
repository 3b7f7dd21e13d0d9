using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using TicketSaga.Gateway.Proxy;
using TicketSaga.ServiceDefaults;
using Yarp.ReverseProxy.Model;

namespace TicketSaga.Gateway.Idempotency;

/// <summary>
/// <c>Idempotency-Key</c> on the routes marked idempotent (POST /orders): the same key from the same
/// user gets the first answer again (status, Content-Type, Location, body; marked
/// <c>Idempotent-Replayed: true</c>) and the request is not forwarded again. A key reused with another
/// body is 422. A duplicate arriving while the first request is still in flight gets 409 at once
/// (with Retry-After) instead of waiting: the client retries and then receives the first answer.
/// Only 2xx and 4xx answers are kept, and not those asking to be retried (Retry-After). Anything else
/// (a 5xx, a failed forward, a timeout) is an unknown outcome: order-service may have placed the order.
/// The key then stays bound to its request and the same request is forwarded again, which
/// order-service answers with the order the key placed (it derives the order from user and key).
/// Without the header the request passes unchanged.
/// </summary>
public sealed partial class IdempotentRequests(IdempotencyStore store, ILogger<IdempotentRequests> logger) : IMiddleware
{
    public const string HeaderName = "Idempotency-Key";
    public const string ReplayedHeader = "Idempotent-Replayed";
    private const int MaxKeyLength = 255;
    private const int MaxStoredBody = 256 * 1024;
    private static readonly string[] ReplayedHeaders = ["Content-Type", "Location"];

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var route = context.GetReverseProxyFeature().Route.Config;
        if (route.Metadata?.ContainsKey(SidecarRoutes.IdempotentMetadata) != true
            || !context.Request.Headers.TryGetValue(HeaderName, out var values))
        {
            await next(context);
            return;
        }

        var key = values.ToString();
        if (key.Length is 0 or > MaxKeyLength || values.Count > 1 || !key.All(c => c is > ' ' and <= '~'))
        {
            await GatewayProblems.WriteAsync(context, GatewayProblems.Create(
                StatusCodes.Status400BadRequest, GatewayProblems.InvalidIdempotencyKey, "Invalid Idempotency-Key",
                $"Idempotency-Key must be one value of 1 to {MaxKeyLength} visible ASCII characters."));
            return;
        }

        var userId = context.User.UserId();
        var claim = await store.ClaimAsync(userId, key, await RequestHashAsync(context.Request), context.RequestAborted);
        switch (claim)
        {
            case KeyClaim.Owned owned:
                await ForwardAndKeepAsync(context, next, userId, key, owned.Owner);
                break;
            case KeyClaim.Completed completed:
                await ReplayAsync(context, completed.Response);
                break;
            case KeyClaim.InProgress:
                context.Response.Headers.RetryAfter = "1";
                await GatewayProblems.WriteAsync(context, GatewayProblems.Create(
                    StatusCodes.Status409Conflict, GatewayProblems.IdempotencyKeyInProgress, "Request in progress",
                    "A request with this Idempotency-Key is still being processed; retry shortly to get its answer."));
                break;
            default:
                await GatewayProblems.WriteAsync(context, GatewayProblems.Create(
                    StatusCodes.Status422UnprocessableEntity, GatewayProblems.IdempotencyKeyReused, "Idempotency-Key reused",
                    "This Idempotency-Key was already used with a different request; use a new key for a new request."));
                break;
        }
    }

    private async Task ForwardAndKeepAsync(HttpContext context, RequestDelegate next, string userId, string key, Guid owner)
    {
        var client = context.Response.Body;
        await using var capture = new CapturingStream(client, MaxStoredBody);
        context.Response.Body = capture;
        var kept = false;
        try
        {
            await next(context);
            var status = context.Response.StatusCode;
            // A forwarder error (e.g. the client left mid-answer) means the copy may be incomplete.
            var complete = context.GetForwarderErrorFeature() is null && !capture.Overflowed;
            // "Retry later" (order-service's order-in-progress) is not an answer to keep.
            var final = context.Response.Headers.RetryAfter.Count == 0;
            if (status is (>= 200 and < 300) or (>= 400 and < 500) && complete && final)
            {
                var headers = ReplayedHeaders
                    .Where(name => context.Response.Headers.ContainsKey(name))
                    .ToDictionary(name => name, name => context.Response.Headers[name].ToString());
                // Not the request's token: the answer is kept even if the client has gone.
                await store.CompleteAsync(userId, key, owner, new StoredResponse(status, headers, capture.Captured), CancellationToken.None);
                kept = true;
            }
        }
        finally
        {
            context.Response.Body = client;
            if (!kept)
            {
                await LetGoAsync(userId, key, owner, clientLeft: context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted);
            }
        }
    }

    private async Task LetGoAsync(string userId, string key, Guid owner, bool clientLeft)
    {
        try
        {
            await (clientLeft
                ? store.ForgetAsync(userId, key, owner, CancellationToken.None)
                : store.UnlockAsync(userId, key, owner, CancellationToken.None));
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            // The key stays locked until Idempotency:InFlightLock passes; then the same request takes it over.
            LogKeyNotUnlocked(logger, ex, key, userId);
        }
    }

    private static async Task ReplayAsync(HttpContext context, StoredResponse response)
    {
        context.Response.StatusCode = response.StatusCode;
        foreach (var (name, value) in response.Headers)
        {
            context.Response.Headers[name] = value;
        }

        context.Response.Headers[ReplayedHeader] = "true";
        context.Response.ContentLength = response.Body.Length;
        await context.Response.Body.WriteAsync(response.Body, context.RequestAborted);
    }

    /// <summary>
    /// Method, path, query and body: what makes a retry "the same request". A JSON body counts by its value,
    /// as order-service compares the fields: a client that serializes the same request anew (another
    /// property order, other whitespace or escapes) is retrying, not reusing the key. Anything else by its bytes.
    /// </summary>
    private static async Task<byte[]> RequestHashAsync(HttpRequest request)
    {
        request.EnableBuffering();
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{request.Method} {request.Path}{request.QueryString}\n"));
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body, request.HttpContext.RequestAborted);
        request.Body.Position = 0;
        hash.AppendData(CanonicalJson(body.GetBuffer().AsMemory(0, (int)body.Length)) ?? body.ToArray());
        return hash.GetHashAndReset();
    }

    /// <returns>The JSON with every object's properties in ordinal order and nothing between tokens; null when it is not JSON.</returns>
    private static byte[]? CanonicalJson(ReadOnlyMemory<byte> json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            var canonical = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(canonical))
            {
                Write(document.RootElement, writer);
            }

            return canonical.WrittenSpan.ToArray();
        }
        catch (JsonException)
        {
            return null;
        }

        static void Write(JsonElement element, Utf8JsonWriter writer)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    writer.WriteStartObject();
                    foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                    {
                        writer.WritePropertyName(property.Name);
                        Write(property.Value, writer);
                    }

                    writer.WriteEndObject();
                    break;
                case JsonValueKind.Array:
                    writer.WriteStartArray();
                    foreach (var item in element.EnumerateArray())
                    {
                        Write(item, writer);
                    }

                    writer.WriteEndArray();
                    break;
                default:
                    // Strings unescaped and written again, numbers and literals as they came.
                    element.WriteTo(writer);
                    break;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not unlock Idempotency-Key {Key} of {UserId}")]
    private static partial void LogKeyNotUnlocked(ILogger logger, Exception exception, string key, string userId);
}
