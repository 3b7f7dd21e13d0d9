using System.Collections.Concurrent;
using Dapr.Client.Autogen.Grpc.v1;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Runtime.Api;

/// <summary>
/// What <c>GET /v1.0/metadata</c> and gRPC <c>GetMetadata</c> report: app, runtime, components, subscriptions, and
/// the extended attributes the app set (<c>PUT /v1.0/metadata/{key}</c>, gRPC <c>SetMetadata</c>), kept while the sidecar runs.
/// </summary>
public sealed class SidecarMetadata(AppDescriptor app, RuntimeResources resources, SidecarSubscriptions subscriptions)
{
    public const string RuntimeVersion = "1.18.7-ticketsaga-embedded";

    private readonly ConcurrentDictionary<string, string> _extended = new(StringComparer.Ordinal);

    public void Set(string key, string value) => _extended[key] = value;

    public object ToJson() => new
    {
        id = app.AppId,
        runtimeVersion = RuntimeVersion,
        enabledFeatures = Array.Empty<string>(),
        components = resources.ComponentsFor(app.AppId).Select(c => new { name = c.Name, type = c.Type, version = c.Version, capabilities = Array.Empty<string>() }),
        subscriptions = subscriptions.Current.Select(s => new
        {
            pubsubname = s.PubsubName,
            topic = s.Topic,
            deadLetterTopic = s.DeadLetterTopic ?? "",
            rules = s.Rules.Select(r => new { match = r.Match, path = r.Path }).Concat(s.DefaultRoute is null ? [] : [new { match = "", path = s.DefaultRoute }]),
            type = s.Source == SubscriptionSource.Declarative ? "DECLARATIVE" : "PROGRAMMATIC",
        }),
        extended = new SortedDictionary<string, string>(_extended, StringComparer.Ordinal),
        appConnectionProperties = new { port = app.AppPort, protocol = app.Protocol == AppChannelProtocol.Grpc ? "grpc" : "http", channelAddress = "127.0.0.1" },
    };

    public GetMetadataResponse ToGrpc()
    {
        var response = new GetMetadataResponse
        {
            Id = app.AppId,
            RuntimeVersion = RuntimeVersion,
            AppConnectionProperties = new AppConnectionProperties
            {
                Port = app.AppPort,
                Protocol = app.Protocol == AppChannelProtocol.Grpc ? "grpc" : "http",
                ChannelAddress = "127.0.0.1",
            },
        };
        response.ExtendedMetadata.Add(_extended);
        response.RegisteredComponents.Add(resources.ComponentsFor(app.AppId).Select(c => new RegisteredComponents { Name = c.Name, Type = c.Type, Version = c.Version }));
        foreach (var s in subscriptions.Current)
        {
            var subscription = new PubsubSubscription
            {
                PubsubName = s.PubsubName,
                Topic = s.Topic,
                DeadLetterTopic = s.DeadLetterTopic ?? "",
                Rules = new PubsubSubscriptionRules(),
                Type = s.Source == SubscriptionSource.Declarative ? PubsubSubscriptionType.Declarative : PubsubSubscriptionType.Programmatic,
            };
            subscription.Rules.Rules.Add(s.Rules.Select(r => new PubsubSubscriptionRule { Match = r.Match, Path = r.Path }));
            if (s.DefaultRoute is not null)
            {
                subscription.Rules.Rules.Add(new PubsubSubscriptionRule { Path = s.DefaultRoute });
            }

            response.Subscriptions.Add(subscription);
        }

        return response;
    }
}
