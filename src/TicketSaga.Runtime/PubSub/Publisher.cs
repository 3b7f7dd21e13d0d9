using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.PubSub;

/// <summary>One sidecar's publish path: checks the pub/sub is visible to the app and the topic in its scope, wraps, appends.</summary>
public sealed class Publisher(AppDescriptor app, RuntimeResources resources, PubSubLog log)
{
    public async Task<CloudEventMessage> PublishAsync(
        string pubsubName, string topic, ReadOnlyMemory<byte> data, string? dataContentType,
        IReadOnlyDictionary<string, string> metadata, string? traceParent, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(pubsubName))
        {
            throw new InvalidPublishException("pubsub name is empty");
        }

        if (string.IsNullOrWhiteSpace(topic))
        {
            throw new InvalidPublishException($"topic is empty in pubsub '{pubsubName}'");
        }

        var pubsub = resources.PubSubFor(app.AppId, pubsubName)
            ?? throw new InvalidPublishException($"pubsub '{pubsubName}' is not found (no pubsub component of that name is visible to app '{app.AppId}')", notFound: true);
        if (!pubsub.AllowsPublishing(app.AppId, topic))
        {
            throw new PublishForbiddenException($"topic {topic} is not allowed for app id {app.AppId}");
        }

        var message = CloudEventEnvelope.Create(new PublishRequest(pubsubName, topic, data, dataContentType, metadata, app.AppId, traceParent));
        await log.AppendAsync(pubsubName, topic, message, cancellationToken);
        return message;
    }
}
