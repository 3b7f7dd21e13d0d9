using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.PubSub;

/// <summary>One sidecar's publish path: checks the pub/sub is visible to the app, wraps, appends.</summary>
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

        if (resources.PubSubFor(app.AppId, pubsubName) is null)
        {
            throw new InvalidPublishException($"pubsub '{pubsubName}' is not found (no pubsub component of that name is visible to app '{app.AppId}')", notFound: true);
        }

        var message = CloudEventEnvelope.Create(new PublishRequest(pubsubName, topic, data, dataContentType, metadata, app.AppId, traceParent));
        await log.AppendAsync(pubsubName, topic, message, cancellationToken);
        return message;
    }
}
