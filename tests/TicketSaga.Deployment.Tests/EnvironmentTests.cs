using TicketSaga.Contracts;
using TicketSaga.Runtime.Components;

namespace TicketSaga.Deployment.Tests;

/// <summary>Every environment (local daprd, embedded runtime, Kubernetes chart) gives the code the same building blocks.</summary>
public sealed class EnvironmentTests
{
    public static TheoryData<string> Environments => DaprEnvironment.Names;

    public static TheoryData<string, string> EnvironmentsAndTopics { get; } =
        [.. DaprEnvironment.Names.SelectMany(e => Topics.All.Select(t => (e.Data, t)))];

    public static TheoryData<string, string> EnvironmentsAndSubscribedTopics { get; } =
        [.. DaprEnvironment.Names.SelectMany(e => Topics.All.Where(t => Saga.Subscribers[t].Length > 0).Select(t => (e.Data, t)))];

    [Theory]
    [MemberData(nameof(Environments))]
    public void The_component_names_the_code_uses_exist_once_each(string environment)
    {
        var components = DaprEnvironment.Load(environment).Components;

        Assert.Equal([Topics.PubSub, "secretstore", "statestore"], components.Select(c => c.Name).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Pubsub_is_kafka_with_one_consumer_group_per_app_and_cloudevents(string environment)
    {
        var pubsub = DaprEnvironment.Load(environment).Component(Topics.PubSub);

        Assert.Equal(("pubsub.kafka", "v1"), (pubsub.Type, pubsub.Version));
        Assert.False(string.IsNullOrWhiteSpace(pubsub.Value("brokers")));
        Assert.Equal("{appID}", pubsub.Value("consumerGroup"));
        Assert.False(string.IsNullOrWhiteSpace(pubsub.Value("authType")));
        // Messages stay CloudEvents: the subscribers read the envelope's id for their inbox.
        Assert.Null(pubsub.Item("rawPayload"));
        Assert.Equal("oldest", pubsub.Value("initialOffset"));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void The_state_store_is_postgresql_and_the_actor_state_store(string environment)
    {
        var statestore = DaprEnvironment.Load(environment).Component("statestore");

        Assert.Equal("state.postgresql", statestore.Type);
        Assert.Equal("true", statestore.Value("actorStateStore"));
        var connection = statestore.Item("connectionString");
        if (connection is not null)
        {
            Assert.True(connection.ContainsKey("secretKeyRef"), "the state store's connection string comes from a secret store");
        }
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void The_secret_store_is_a_secret_store(string environment)
    {
        Assert.StartsWith("secretstores.", DaprEnvironment.Load(environment).Component("secretstore").Type, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Each_app_sees_only_the_components_it_needs(string environment)
    {
        var components = DaprEnvironment.Load(environment).Components;

        foreach (var app in AppIds.All)
        {
            var expected = new List<string>();
            if (Saga.PubSubUsers.Contains(app))
            {
                expected.Add(Topics.PubSub);
            }

            if (Saga.ActorStateUsers.Contains(app))
            {
                expected.AddRange(["secretstore", "statestore"]);
            }

            var visible = components.Where(c => c.IsVisibleTo(app)).Select(c => c.Name).Order(StringComparer.Ordinal);
            Assert.True(expected.Order(StringComparer.Ordinal).SequenceEqual(visible), $"{environment}: {app} sees [{string.Join(", ", visible)}], expected [{string.Join(", ", expected)}]");
        }
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void A_component_reading_a_secret_store_is_loaded_only_where_that_store_is(string environment)
    {
        var components = DaprEnvironment.Load(environment).Components;

        foreach (var component in components.Where(c => c.Auth?.Text("secretStore") is not null))
        {
            var store = Assert.Single(components, c => c.Name == component.Auth!.Text("secretStore"));
            Assert.StartsWith("secretstores.", store.Type, StringComparison.Ordinal);
            Assert.All(component.Scopes, app => Assert.True(store.IsVisibleTo(app), $"{component.Name} reads {store.Name}, which {app} cannot see"));
        }
    }

    [Theory]
    [InlineData("local")]
    [InlineData("compose")]
    public void The_secrets_file_holds_every_secret_the_components_reference(string environment)
    {
        var secrets = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(DaprEnvironment.ResourcesPath(environment), "secrets.json")));
        var references = DaprEnvironment.Load(environment).Components.SelectMany(c => c.Metadata).Select(m => m.At("secretKeyRef")).OfType<Map>();

        Assert.All(references, reference => Assert.True(secrets.RootElement.TryGetProperty(reference.Text("name")!, out _), $"secrets.json lacks {reference.Text("name")}"));
    }

    [Theory]
    [MemberData(nameof(EnvironmentsAndSubscribedTopics))]
    public void Every_subscribed_topic_has_a_subscription_with_its_dead_letter_topic(string environment, string topic)
    {
        var subscription = Assert.Single(DaprEnvironment.Load(environment).Subscriptions, s => s.Topic == topic);

        Assert.Equal(Topics.PubSub, subscription.PubSubName);
        Assert.Equal(Topics.DeadLetter(topic), subscription.DeadLetterTopic);
        Assert.Equal($"/events/{topic}", subscription.DefaultRoute);
    }

    [Theory]
    [MemberData(nameof(EnvironmentsAndTopics))]
    public void Each_topic_is_delivered_to_exactly_its_subscribers(string environment, string topic)
    {
        var subscriptions = DaprEnvironment.Load(environment).Subscriptions.Where(s => s.Topic == topic).ToList();

        Assert.Equal(Saga.Subscribers[topic].Length == 0 ? 0 : 1, subscriptions.Count);
        Assert.Equal(Saga.Subscribers[topic].Order(StringComparer.Ordinal), subscriptions.SelectMany(s => s.Scopes).Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Subscription_names_are_unique_kubernetes_names(string environment)
    {
        var names = DaprEnvironment.Load(environment).Subscriptions.Select(s => s.Name).ToList();

        Assert.Equal(names.Count, names.Distinct().Count());
        Assert.All(names, name => Assert.Matches("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", name));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("embedded")]
    public void The_embedded_runtime_loads_the_environment_and_gives_each_subscriber_the_pubsub(string environment)
    {
        var resources = ResourceLoader.Load([Repository.PathOf("components"), Repository.PathOf("components", environment)]);

        foreach (var (topic, subscribers) in Saga.Subscribers)
        {
            foreach (var app in subscribers)
            {
                Assert.Single(resources.DeclarativeSubscriptionsFor(app), s => s.Topic == topic && s.DeadLetterTopic == Topics.DeadLetter(topic));
                Assert.NotNull(resources.PubSubFor(app, Topics.PubSub));
            }
        }

        Assert.All(Saga.Publisher.Values, app => Assert.NotNull(resources.PubSubFor(app, Topics.PubSub)));
        Assert.Empty(resources.ComponentsFor(AppIds.Gateway));
        var inbound = resources.InboundFor(AppIds.OrderService, Topics.PubSub).Retry!;
        Assert.Equal((RetryKind.Exponential, 3), (inbound.Kind, inbound.MaxRetries));
    }
}
