using System.Text.Json;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Invocation;

namespace TicketSaga.Runtime.PubSub;

/// <summary>
/// Finds an app's subscriptions the way daprd does: declarative Subscription resources scoped to the
/// app, plus what the app answers on <c>GET /dapr/subscribe</c>, or a gRPC app to <c>ListTopicSubscriptions</c>
/// (asked again until the app listens; no such endpoint means no programmatic subscriptions).
/// </summary>
internal sealed partial class SubscriptionDiscovery(AppDescriptor app, RuntimeResources resources, HttpClient http, GrpcAppChannel grpcApp, ILogger logger)
{
    public async Task<IReadOnlyList<SubscriptionDefinition>> DiscoverAsync(CancellationToken cancellationToken)
    {
        var all = resources.DeclarativeSubscriptionsFor(app.AppId).ToList();
        if (app.HasAppChannel)
        {
            all.AddRange(app.Protocol == AppChannelProtocol.Grpc ? await AskGrpcAppAsync(cancellationToken) : await AskAppAsync(cancellationToken));
        }

        var accepted = new List<SubscriptionDefinition>();
        foreach (var topic in all.GroupBy(s => (s.PubsubName, s.Topic)))
        {
            if (topic.Count() > 1)
            {
                LogDuplicateSubscription(logger, app.AppId, topic.Count(), topic.Key.Topic, topic.Key.PubsubName, string.Join(", ", topic.Select(s => s.Origin)));
            }
            else if (resources.PubSubFor(app.AppId, topic.Key.PubsubName) is not { } pubsub)
            {
                LogUnknownPubSub(logger, app.AppId, topic.Key.Topic, topic.Key.PubsubName);
            }
            else if (!pubsub.AllowsSubscribing(app.AppId, topic.Key.Topic))
            {
                LogSubscriptionOutOfScope(logger, app.AppId, topic.Key.Topic, topic.Key.PubsubName);
            }
            else
            {
                accepted.Add(topic.Single());
            }
        }

        return accepted;
    }

    private async Task<IReadOnlyList<SubscriptionDefinition>> AskAppAsync(CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(app.AppAddress, "/dapr/subscribe"));
                app.Authenticate(request);
                using var response = await http.SendAsync(request, cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    return [];
                }

                return Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            }
            catch (HttpRequestException)
            {
                // The app is not listening yet: daprd waits for the app port too.
                await Task.Delay(wait, cancellationToken);
                wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 1000));
            }
        }
    }

    private async Task<IReadOnlyList<SubscriptionDefinition>> AskGrpcAppAsync(CancellationToken cancellationToken)
    {
        var wait = TimeSpan.FromMilliseconds(50);
        while (true)
        {
            try
            {
                var response = await grpcApp.For(app).ListTopicSubscriptionsAsync(new Empty(), GrpcAppChannel.Options(app, null, cancellationToken));
                return [.. response.Subscriptions.Select(subscription => Readable(subscription.Topic, () => FromGrpc(subscription))).OfType<SubscriptionDefinition>()];
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
            {
                return [];
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unavailable)
            {
                // The app is not listening yet: daprd waits for the app port too.
                await Task.Delay(wait, cancellationToken);
                wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 1000));
            }
            catch (Exception ex) when (ex is RpcException or FormatException or InvalidOperationException)
            {
                LogUnreadableGrpcSubscriptions(logger, app.AppId, ex.Message);
                return [];
            }
        }
    }

    /// <summary>
    /// daprd's reading of a gRPC subscription: without routes, or with neither rules nor a default, events
    /// go to the empty path; with rules and no default, an event no rule matches has no route.
    /// A bulk subscription gets its batches through <c>AppCallbackAlpha.OnBulkTopicEventAlpha1</c>.
    /// </summary>
    private SubscriptionDefinition FromGrpc(TopicSubscription subscription)
    {
        var rules = subscription.Routes?.Rules ?? [];
        foreach (var rule in rules)
        {
            EventMatch.Parse(rule.Match);
        }

        var defaultRoute = subscription.Routes?.Default is { Length: > 0 } route ? route : rules.Count == 0 ? "" : null;
        return new SubscriptionDefinition(
            subscription.PubsubName, subscription.Topic, defaultRoute, [.. rules.Select(r => new SubscriptionRule(r.Match, r.Path))],
            subscription.DeadLetterTopic is { Length: > 0 } deadLetterTopic ? deadLetterTopic : null, [],
            SubscriptionSource.Programmatic, $"ListTopicSubscriptions of {app.AppId}")
        {
            RawPayload = string.Equals(subscription.Metadata.GetValueOrDefault("rawPayload"), "true", StringComparison.OrdinalIgnoreCase),
            BulkSubscribe = subscription.BulkSubscribe is { Enabled: true } bulk
                ? new BulkSubscribeOptions(bulk.MaxMessagesCount > 0 ? bulk.MaxMessagesCount : 100, bulk.MaxAwaitDurationMs > 0 ? bulk.MaxAwaitDurationMs : 1000)
                : null,
        };
    }

    private List<SubscriptionDefinition> Parse(string json)
    {
        var subscriptions = new List<SubscriptionDefinition>();
        try
        {
            using var document = JsonDocument.Parse(json);
            foreach (var item in document.RootElement.EnumerateArray())
            {
                if (Readable(String(item, "topic") ?? "", () => FromHttp(item)) is { } subscription)
                {
                    subscriptions.Add(subscription);
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or FormatException)
        {
            LogMalformedSubscriptions(logger, app.AppId, ex.Message);
            return [];
        }

        return subscriptions;
    }

    /// <summary>
    /// A subscription whose routing rule is beyond the supported subset (<see cref="EventMatch"/>) is left out and
    /// logged; the app's other subscriptions still deliver.
    /// </summary>
    private SubscriptionDefinition? Readable(string topic, Func<SubscriptionDefinition> read)
    {
        try
        {
            return read();
        }
        catch (UnsupportedMatchException ex)
        {
            LogUnsupportedRule(logger, app.AppId, topic, ex.Message);
            return null;
        }
    }

    private SubscriptionDefinition FromHttp(JsonElement item)
    {
        var routes = Property(item, "routes");
        var rules = new List<SubscriptionRule>();
        if (routes is { ValueKind: JsonValueKind.Object } && Property(routes.Value, "rules") is { ValueKind: JsonValueKind.Array } ruleArray)
        {
            foreach (var rule in ruleArray.EnumerateArray())
            {
                var match = String(rule, "match") ?? "";
                EventMatch.Parse(match);
                rules.Add(new SubscriptionRule(match, String(rule, "path") ?? ""));
            }
        }

        var defaultRoute = (routes is { ValueKind: JsonValueKind.Object } ? String(routes.Value, "default") : null) ?? String(item, "route");
        var metadata = Property(item, "metadata");
        var bulk = Property(item, "bulkSubscribe");
        return new SubscriptionDefinition(
            String(item, "pubsubName") ?? "", String(item, "topic") ?? "", defaultRoute, rules, String(item, "deadLetterTopic"), [],
            SubscriptionSource.Programmatic, $"GET /dapr/subscribe of {app.AppId}")
        {
            RawPayload = metadata is { ValueKind: JsonValueKind.Object } && string.Equals(String(metadata.Value, "rawPayload"), "true", StringComparison.OrdinalIgnoreCase),
            BulkSubscribe = bulk is { ValueKind: JsonValueKind.Object } && Property(bulk.Value, "enabled") is { ValueKind: JsonValueKind.True }
                ? new BulkSubscribeOptions(PositiveInt(bulk.Value, "maxMessagesCount") ?? 100, PositiveInt(bulk.Value, "maxAwaitDurationMs") ?? 1000)
                : null,
        };
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId} did not list readable subscriptions on ListTopicSubscriptions ({Error}); it gets none of its own")]
    private static partial void LogUnreadableGrpcSubscriptions(ILogger logger, string appId, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId} subscribes {Count} times to topic {Topic} of {PubSub} ({Origins}); none of them is delivered")]
    private static partial void LogDuplicateSubscription(ILogger logger, string appId, int count, string topic, string pubSub, string origins);

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId} subscribes to topic {Topic} of pubsub {PubSub}, which is not a pubsub component visible to it")]
    private static partial void LogUnknownPubSub(ILogger logger, string appId, string topic, string pubSub);

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId}'s subscription to topic {Topic} is left out: {Error}")]
    private static partial void LogUnsupportedRule(ILogger logger, string appId, string topic, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId} answered GET /dapr/subscribe with something that is not a list of subscriptions: {Error}")]
    private static partial void LogMalformedSubscriptions(ILogger logger, string appId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App {AppId} subscribes to topic {Topic} of pubsub {PubSub}, which its allowedTopics / subscriptionScopes do not allow; it is not delivered")]
    private static partial void LogSubscriptionOutOfScope(ILogger logger, string appId, string topic, string pubSub);

    private static JsonElement? Property(JsonElement element, string name)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return property.Value;
            }
        }

        return null;
    }

    private static int? PositiveInt(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.Number } value && value.TryGetInt32(out var number) && number > 0 ? number : null;

    private static string? String(JsonElement element, string name) =>
        Property(element, name) is { ValueKind: JsonValueKind.String } value && value.GetString() is { Length: > 0 } text ? text : null;
}
