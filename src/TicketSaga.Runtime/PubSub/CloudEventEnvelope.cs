using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace TicketSaga.Runtime.PubSub;

/// <summary>A publish request as the Dapr APIs receive it.</summary>
public sealed record PublishRequest(
    string PubsubName,
    string Topic,
    ReadOnlyMemory<byte> Data,
    string? DataContentType,
    IReadOnlyDictionary<string, string> Metadata,
    string PublisherAppId,
    string? TraceParent);

/// <summary>A message ready for the log: its CloudEvent JSON, id and partition key.</summary>
public sealed record CloudEventMessage(string Id, string PartitionKey, string CloudEventJson);

/// <summary>
/// Wraps published data in a CloudEvent 1.0 as daprd does: JSON content becomes <c>data</c> as JSON,
/// text becomes a string, anything else <c>data_base64</c>; a body that already is a CloudEvent
/// (<c>application/cloudevents+json</c>) keeps its own attributes. Metadata <c>cloudevent.id</c>,
/// <c>cloudevent.source</c>, <c>cloudevent.type</c> and <c>cloudevent.traceparent</c> override
/// attributes; <c>partitionKey</c> orders messages (default: the id). With <c>rawPayload=true</c> the
/// data is the message itself, no envelope.
/// </summary>
public static partial class CloudEventEnvelope
{
    public const string ContentType = "application/cloudevents+json";

    /// <summary>
    /// Marks a message published with <c>rawPayload</c>: the log keeps it as the CloudEvent daprd makes of
    /// a raw message for a subscriber (<c>data_base64</c>), and this attribute, removed before delivery,
    /// says its data is the whole message.
    /// </summary>
    private const string RawPayloadMarker = "ticketsagarawpayload";

    public static CloudEventMessage Create(PublishRequest request)
    {
        if (IsRawPayload(request.Metadata))
        {
            var rawId = Guid.NewGuid().ToString();
            var raw = RawPayloadEvent(rawId, request.Data.Span, request.Topic, request.PubsubName);
            raw[RawPayloadMarker] = true;
            return new CloudEventMessage(rawId, request.Metadata.GetValueOrDefault("partitionKey") is { Length: > 0 } rawKey ? rawKey : rawId, raw.ToJsonString());
        }

        // daprd's default: a body that says nothing of its type is text.
        var contentType = string.IsNullOrEmpty(request.DataContentType) ? "text/plain" : request.DataContentType;
        var cloudEvent = IsCloudEvent(contentType) ? ParseCloudEvent(request.Data) : [];
        if (!IsCloudEvent(contentType))
        {
            cloudEvent["datacontenttype"] = contentType;
            SetData(cloudEvent, request.Data, contentType);
        }

        var metadata = request.Metadata;
        var traceParent = metadata.GetValueOrDefault("cloudevent.traceparent") ?? request.TraceParent ?? NewTraceParent();
        Set(cloudEvent, "id", metadata.GetValueOrDefault("cloudevent.id"), () => Guid.NewGuid().ToString());
        Set(cloudEvent, "source", metadata.GetValueOrDefault("cloudevent.source"), () => request.PublisherAppId);
        Set(cloudEvent, "type", metadata.GetValueOrDefault("cloudevent.type"), () => "com.dapr.event.sent");
        Set(cloudEvent, "specversion", null, () => "1.0");
        Set(cloudEvent, "datacontenttype", null, () => "application/json");
        Set(cloudEvent, "time", null, () => DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture));
        cloudEvent["topic"] = request.Topic;
        cloudEvent["pubsubname"] = request.PubsubName;
        Set(cloudEvent, "traceparent", metadata.GetValueOrDefault("cloudevent.traceparent"), () => traceParent);
        Set(cloudEvent, "traceid", metadata.GetValueOrDefault("cloudevent.traceparent"), () => traceParent);
        Set(cloudEvent, "tracestate", null, () => "");
        if (MessageTtl(metadata) is { } ttl)
        {
            cloudEvent["expiration"] = (DateTimeOffset.UtcNow + ttl).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }

        var id = cloudEvent["id"]!.GetValue<string>();
        var partitionKey = metadata.GetValueOrDefault("partitionKey") is { Length: > 0 } key ? key : id;
        return new CloudEventMessage(id, partitionKey, cloudEvent.ToJsonString());
    }

    /// <summary>
    /// What a subscription receives for a logged message: the CloudEvent as published; for a
    /// <c>rawPayload</c> subscription, a CloudEvent whose <c>data_base64</c> is the message as published
    /// (the CloudEvent itself, unless it was published raw), as daprd wraps raw messages for the SDKs.
    /// </summary>
    public static string ForSubscriber(string loggedJson, JsonElement logged, bool rawSubscription)
    {
        if (logged.TryGetProperty(RawPayloadMarker, out _))
        {
            var cloudEvent = JsonNode.Parse(loggedJson)!.AsObject();
            cloudEvent.Remove(RawPayloadMarker);
            return cloudEvent.ToJsonString();
        }

        return rawSubscription
            ? RawPayloadEvent(logged.GetProperty("id").GetString()!, Encoding.UTF8.GetBytes(loggedJson), logged.GetProperty("topic").GetString()!,
                logged.GetProperty("pubsubname").GetString()!).ToJsonString()
            : loggedJson;
    }

    /// <summary>
    /// Whether a delivered CloudEvent is past its <c>expiration</c> (components-contrib's <c>pubsub.HasExpired</c>): daprd
    /// drops such a message instead of delivering it. A missing or unreadable expiration never expires.
    /// </summary>
    public static bool HasExpired(JsonElement cloudEvent, DateTimeOffset now) =>
        cloudEvent.TryGetProperty("expiration", out var expiration) && expiration.ValueKind == JsonValueKind.String
        && DateTimeOffset.TryParse(expiration.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var expiresAt)
        && expiresAt < now;

    /// <summary>
    /// Publish metadata <c>ttl</c> or <c>ttlInSeconds</c> as daprd reads it for a component without its own message TTL
    /// (components-contrib <c>metadata.TryGetTTL</c>, <c>pubsub.ApplyMetadata</c>): a Go duration (<c>90s</c>, <c>1h</c>; a
    /// negative one is zero) or a whole number of seconds above zero; anything else is ignored, as daprd ignores it.
    /// </summary>
    private static TimeSpan? MessageTtl(IReadOnlyDictionary<string, string> metadata)
    {
        var text = metadata.FirstOrDefault(m => m.Key.Equals("ttl", StringComparison.OrdinalIgnoreCase)).Value
            ?? metadata.FirstOrDefault(m => m.Key.Equals("ttlInSeconds", StringComparison.OrdinalIgnoreCase)).Value;
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (GoDuration(text) is { } duration)
        {
            return duration < TimeSpan.Zero ? TimeSpan.Zero : duration;
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var seconds) && seconds > 0
            ? TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.MaxValue.TotalSeconds / 2))
            : null;
    }

    /// <summary>Go's <c>time.ParseDuration</c>: an optional sign, then decimal numbers each with a unit (ns, us, µs, ms, s, m, h); "0" alone.</summary>
    private static TimeSpan? GoDuration(string text)
    {
        if (text is "0" or "+0" or "-0")
        {
            return TimeSpan.Zero;
        }

        var match = GoDurationPattern().Match(text);
        if (!match.Success)
        {
            return null;
        }

        var ticks = 0m;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unit = part.Value.TrimStart("0123456789.".ToCharArray());
            var number = decimal.Parse(part.Value[..^unit.Length], CultureInfo.InvariantCulture);
            ticks += number * unit switch
            {
                "ns" => 0.01m,
                "us" or "µs" or "μs" => TimeSpan.TicksPerMicrosecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                _ => TimeSpan.TicksPerHour,
            };
        }

        ticks = Math.Min(ticks, TimeSpan.MaxValue.Ticks / 2);
        return TimeSpan.FromTicks((long)(match.Groups["sign"].Value == "-" ? -ticks : ticks));
    }

    [GeneratedRegex(@"^(?<sign>[+-]?)(?<part>(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+$")]
    private static partial Regex GoDurationPattern();

    /// <summary>Publish metadata <c>rawPayload</c> (a Go boolean, as daprd parses it).</summary>
    private static bool IsRawPayload(IReadOnlyDictionary<string, string> metadata) => metadata.GetValueOrDefault("rawPayload") switch
    {
        null or "" => false,
        "1" or "t" or "T" or "true" or "TRUE" or "True" => true,
        "0" or "f" or "F" or "false" or "FALSE" or "False" => false,
        var other => throw new InvalidPublishException($"rawPayload value must be a valid boolean: actual is '{other}'"),
    };

    /// <summary>daprd's CloudEvent for a raw message: the bytes as <c>data_base64</c>, source Dapr.</summary>
    private static JsonObject RawPayloadEvent(string id, ReadOnlySpan<byte> data, string topic, string pubsubName) => new()
    {
        ["specversion"] = "1.0",
        ["id"] = id,
        ["datacontenttype"] = "application/octet-stream",
        ["source"] = "Dapr",
        ["type"] = "com.dapr.event.sent",
        ["topic"] = topic,
        ["pubsubname"] = pubsubName,
        ["data_base64"] = Convert.ToBase64String(data),
    };

    private static bool IsCloudEvent(string contentType) => contentType.StartsWith(ContentType, StringComparison.OrdinalIgnoreCase);

    private static bool IsJson(string contentType)
    {
        var mediaType = contentType.Split(';')[0].Trim();
        return mediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || mediaType.EndsWith("+json", StringComparison.OrdinalIgnoreCase);
    }

    private static JsonObject ParseCloudEvent(ReadOnlyMemory<byte> data)
    {
        try
        {
            return JsonNode.Parse(data.Span) as JsonObject ?? throw new InvalidPublishException("a body with content type application/cloudevents+json must be a JSON object");
        }
        catch (JsonException ex)
        {
            throw new InvalidPublishException($"the body is not a valid CloudEvent: {ex.Message}");
        }
    }

    private static void SetData(JsonObject cloudEvent, ReadOnlyMemory<byte> data, string contentType)
    {
        if (IsJson(contentType))
        {
            try
            {
                cloudEvent["data"] = data.Length == 0 ? null : JsonNode.Parse(data.Span);
                return;
            }
            catch (JsonException)
            {
                // Like daprd: data that claims to be JSON but is not is carried as a string.
            }
        }

        // As daprd: only application/octet-stream is carried as base64; any other type as a string.
        if (contentType.StartsWith("application/octet-stream", StringComparison.OrdinalIgnoreCase))
        {
            cloudEvent["data_base64"] = Convert.ToBase64String(data.Span);
        }
        else
        {
            cloudEvent["data"] = Encoding.UTF8.GetString(data.Span);
        }
    }

    private static void Set(JsonObject cloudEvent, string name, string? overrideValue, Func<string> fallback)
    {
        if (!string.IsNullOrEmpty(overrideValue))
        {
            cloudEvent[name] = overrideValue;
        }
        else if (cloudEvent[name] is null || (cloudEvent[name] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length == 0 && name != "tracestate"))
        {
            cloudEvent[name] = fallback();
        }
    }

    private static string NewTraceParent() =>
        $"00-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray())}-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()[..8])}-01";
}

/// <summary>A publish the runtime refuses (unknown pub/sub, empty topic, invalid CloudEvent body).</summary>
public sealed class InvalidPublishException(string message, bool notFound = false) : Exception(message)
{
    public bool NotFound { get; } = notFound;
}

/// <summary>A publish the pub/sub's <c>allowedTopics</c> / <c>publishingScopes</c> refuse to this app.</summary>
public sealed class PublishForbiddenException(string message) : Exception(message);
