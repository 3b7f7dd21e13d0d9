using System.Collections.Concurrent;
using Dapr.Client.Autogen.Grpc.v1;
using TicketSaga.Runtime.Actors;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Runtime.Api;

/// <summary>
/// What <c>GET /v1.0/metadata</c> and gRPC <c>GetMetadata</c> report: app, runtime, components, subscriptions, the actor
/// runtime, and the extended attributes the app set (<c>PUT /v1.0/metadata/{key}</c>, gRPC <c>SetMetadata</c>), kept
/// while the sidecar runs.
/// </summary>
public sealed class SidecarMetadata(
    AppDescriptor app, RuntimeResources resources, SidecarSubscriptions subscriptions, ActorPlacement placement, ActiveActors actors)
{
    public const string RuntimeVersion = "1.18.7-ticketsaga-embedded";

    private readonly ConcurrentDictionary<string, string> _extended = new(StringComparer.Ordinal);

    public void Set(string key, string value) => _extended[key] = value;

    /// <summary>
    /// daprd 1.16's actor runtime status (pkg/actors/actors.go, <c>RuntimeStatus</c>): INITIALIZING until the app's actor
    /// types are placed, then RUNNING with the active actors of each type this app hosts; placement is in-process, so
    /// always connected once running.
    /// </summary>
    private ActorRuntime ActorRuntimeStatus()
    {
        if (!placement.IsDiscovered(app.AppId))
        {
            return new ActorRuntime { RuntimeStatus = ActorRuntime.Types.ActorRuntimeStatus.Initializing };
        }

        var status = new ActorRuntime { RuntimeStatus = ActorRuntime.Types.ActorRuntimeStatus.Running, HostReady = true, Placement = "placement: connected" };
        status.ActiveActors.Add(placement.Hosts
            .Where(h => h.App.AppId.Equals(app.AppId, StringComparison.OrdinalIgnoreCase))
            .OrderBy(h => h.ActorType, StringComparer.Ordinal)
            .Select(h => new ActiveActorsCount { Type = h.ActorType, Count = actors.CountOf(h.ActorType) }));
        return status;
    }

    /// <summary>The HTTP answer; serialize it without its null properties, as daprd omits empty ones.</summary>
    public object ToJson()
    {
        var actorRuntime = ActorRuntimeStatus();
        // daprd marshals these proto structs with encoding/json: an empty list and a zero count are left out.
        var activeActors = actorRuntime.ActiveActors.Count == 0 ? null
            : actorRuntime.ActiveActors.Select(a => new { type = a.Type, count = a.Count == 0 ? (int?)null : a.Count }).ToList();
        return new
        {
            id = app.AppId,
            runtimeVersion = RuntimeVersion,
            enabledFeatures = Array.Empty<string>(),
            actors = activeActors,
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
            actorRuntime = new
            {
                runtimeStatus = actorRuntime.RuntimeStatus.ToString().ToUpperInvariant(),
                activeActors,
                hostReady = actorRuntime.HostReady,
                placement = actorRuntime.Placement.Length == 0 ? null : actorRuntime.Placement,
            },
        };
    }

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
            ActorRuntime = ActorRuntimeStatus(),
        };
        // daprd still fills the deprecated field too (pkg/api/universal/metadata.go), for older clients.
#pragma warning disable CS0612
        response.ActiveActorsCount.Add(response.ActorRuntime.ActiveActors);
#pragma warning restore CS0612
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
