using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

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
/// attributes; <c>partitionKey</c> orders messages (default: the id).
/// </summary>
public static class CloudEventEnvelope
{
    public const string ContentType = "application/cloudevents+json";

    public static CloudEventMessage Create(PublishRequest request)
    {
        var contentType = string.IsNullOrEmpty(request.DataContentType) ? "application/json" : request.DataContentType;
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

        var id = cloudEvent["id"]!.GetValue<string>();
        var partitionKey = metadata.GetValueOrDefault("partitionKey") is { Length: > 0 } key ? key : id;
        return new CloudEventMessage(id, partitionKey, cloudEvent.ToJsonString());
    }

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

        if (IsJson(contentType) || contentType.StartsWith("text/", StringComparison.OrdinalIgnoreCase) || IsUtf8Xml(contentType))
        {
            cloudEvent["data"] = Encoding.UTF8.GetString(data.Span);
        }
        else
        {
            cloudEvent["data_base64"] = Convert.ToBase64String(data.Span);
        }
    }

    private static bool IsUtf8Xml(string contentType) => contentType.Contains("xml", StringComparison.OrdinalIgnoreCase);

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
