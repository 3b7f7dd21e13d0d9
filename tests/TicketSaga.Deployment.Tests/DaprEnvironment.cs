namespace TicketSaga.Deployment.Tests;

internal sealed record DaprComponent(string Name, string Type, string Version, IReadOnlyList<Map> Metadata, IReadOnlyList<string> Scopes, Map? Auth)
{
    public Map? Item(string name) => Metadata.FirstOrDefault(m => m.Text("name") == name);

    public string? Value(string name) => Item(name)?.Text("value");

    public bool IsVisibleTo(string appId) => Scopes.Count == 0 || Scopes.Contains(appId);
}

internal sealed record DaprSubscription(string Name, string PubSubName, string Topic, string? DefaultRoute, string? DeadLetterTopic, IReadOnlyList<string> Scopes);

/// <summary>
/// The Dapr resources one environment gives the apps: `local` (daprd on the host + compose),
/// `embedded` and `compose` (the daprd containers of compose's `apps` profile) are read from their
/// resources paths as daprd reads them; `chart` is what the Helm templates render from values.yaml
/// (ChartTests check that the templates map the values this way).
/// </summary>
internal sealed record DaprEnvironment(string Name, IReadOnlyList<DaprComponent> Components, IReadOnlyList<DaprSubscription> Subscriptions, Map Resiliency)
{
    public static TheoryData<string> Names { get; } = ["local", "embedded", "compose", "chart"];

    public static DaprEnvironment Load(string name) => name == "chart" ? FromChart() : FromFolders(name);

    public DaprComponent Component(string name) => Assert.Single(Components, c => c.Name == name);

    private static DaprEnvironment FromFolders(string environment)
    {
        // Like daprd: every *.yaml directly inside each resources path.
        var documents = new[] { Repository.PathOf("components"), ResourcesPath(environment) }
            .SelectMany(folder => Directory.EnumerateFiles(folder, "*.yaml").Order(StringComparer.Ordinal))
            .SelectMany(Yaml.LoadAll)
            .OfType<Map>()
            .ToList();

        var components = documents.Where(d => d.Text("kind") == "Component").Select(d => new DaprComponent(
            d.Text("metadata.name")!, d.Text("spec.type")!, d.Text("spec.version")!, d.Maps("spec.metadata"), d.Strings("scopes"), d.At("auth") as Map)).ToList();
        var subscriptions = documents.Where(d => d.Text("kind") == "Subscription").Select(d => new DaprSubscription(
            d.Text("metadata.name")!, d.Text("spec.pubsubname")!, d.Text("spec.topic")!, d.Text("spec.routes.default"), d.Text("spec.deadLetterTopic"), d.Strings("scopes"))).ToList();
        var resiliency = Assert.Single(documents, d => d.Text("kind") == "Resiliency");
        return new DaprEnvironment(environment, components, subscriptions, resiliency.MapAt("spec"));
    }

    /// <summary>The environment's own folder beside the shared components/.</summary>
    public static string ResourcesPath(string environment) =>
        environment == "compose" ? Repository.PathOf("deploy", "compose", "components") : Repository.PathOf("components", environment);

    private static DaprEnvironment FromChart()
    {
        var values = Chart.Values();
        var dapr = values.MapAt("dapr");
        Map Item(string name, string value) => new([new("name", name), new("value", value)]);
        Map SecretItem(string name) => new([new("name", name), new("secretKeyRef", new Map([]))]);

        var components = new List<DaprComponent>
        {
            new("pubsub", "pubsub.kafka", "v1",
                [Item("brokers", dapr.Text("pubsub.brokers")!), Item("consumerGroup", "{appID}"), Item("clientID", "{appID}"),
                 Item("authType", dapr.Text("pubsub.authType")!), Item("initialOffset", dapr.Text("pubsub.initialOffset")!),
                 Item("publishingScopes", PublishingScopes(dapr)), Item("subscriptionScopes", SubscriptionScopes(dapr))],
                dapr.Strings("pubsub.scopes"), null),
            new("statestore", "state.postgresql", "v2", [SecretItem("connectionString"), Item("actorStateStore", "true")], dapr.Strings("statestore.scopes"), null),
            new("secretstore", "secretstores.kubernetes", "v1", [], dapr.Strings("secretstore.scopes"), null),
        };
        var subscriptions = dapr.Maps("subscriptions").Select(s => s.Text("topic")!).Select(topic => new DaprSubscription(
            topic.Replace('.', '-').Replace('_', '-'), "pubsub", topic, $"/events/{topic}", $"{topic}.dlq",
            dapr.Maps("subscriptions").Single(s => s.Text("topic") == topic).Strings("scopes"))).ToList();
        return new DaprEnvironment("chart", components, subscriptions, dapr.MapAt("resiliency"));
    }

    /// <summary>What _helpers.tpl "ticketsaga.publishingScopes" renders: own topics, then the dead-letter topics of the app's subscriptions.</summary>
    private static string PublishingScopes(Map dapr) => string.Join(';', dapr.MapAt("pubsub.publishes").Keys.Order(StringComparer.Ordinal).Select(app =>
        $"{app}={string.Join(',', dapr.MapAt("pubsub.publishes").Strings(app).Concat(SubscribedTopics(dapr, app).Select(t => t + ".dlq")))}"));

    /// <summary>What _helpers.tpl "ticketsaga.subscriptionScopes" renders: per pub/sub app, the topics it subscribes to.</summary>
    private static string SubscriptionScopes(Map dapr) => string.Join(';', dapr.Strings("pubsub.scopes").Select(app =>
        $"{app}={string.Join(',', SubscribedTopics(dapr, app))}"));

    private static IEnumerable<string> SubscribedTopics(Map dapr, string app) =>
        dapr.Maps("subscriptions").Where(s => s.Strings("scopes").Contains(app)).Select(s => s.Text("topic")!);
}

internal static class Chart
{
    public static Map Values(string file = "values.yaml") => Yaml.Load(Repository.ChartPath(file));

    public static string Template(string name) => File.ReadAllText(Repository.ChartPath("templates", name));
}
