using System.Text.RegularExpressions;
using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

/// <summary>deploy/compose.yaml serves exactly what components/local points at; its `apps` profile runs the chart's images beside their sidecars.</summary>
public sealed partial class ComposeTests
{
    private static readonly Map Compose = Yaml.Load(Repository.PathOf("deploy", "compose.yaml"));

    public static TheoryData<string> TopicsAndDeadLetters { get; } = [.. Topics.All.SelectMany(t => new[] { t, Topics.DeadLetter(t) })];

    [Theory]
    [MemberData(nameof(TopicsAndDeadLetters))]
    public void Every_topic_and_dead_letter_topic_is_created(string topic)
    {
        var script = string.Join("\n", Compose.Strings("services.kafka-topics.command"));

        Assert.Contains(topic, Regex.Split(script, @"[\s\\]+"));
    }

    [Fact]
    public void Topics_are_created_only_after_the_broker_is_healthy_and_nothing_else_creates_them()
    {
        Assert.Equal("service_healthy", Compose.Text("services.kafka-topics.depends_on.kafka.condition"));
        Assert.Equal("false", Compose.Text("services.kafka.environment.KAFKA_AUTO_CREATE_TOPICS_ENABLE"));
    }

    [Fact]
    public void Kafka_runs_in_kraft_mode_on_the_port_the_local_pubsub_uses()
    {
        var kafka = Compose.MapAt("services.kafka.environment");
        var brokers = DaprEnvironment.Load("local").Component(Topics.PubSub).Value("brokers")!;

        Assert.Equal("broker,controller", kafka.Text("KAFKA_PROCESS_ROLES"));
        Assert.Null(kafka.Text("KAFKA_ZOOKEEPER_CONNECT"));
        Assert.Contains($"://{brokers}", kafka.Text("KAFKA_ADVERTISED_LISTENERS"), StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{Port(brokers)}:{Port(brokers)}", Compose.Strings("services.kafka.ports"));
    }

    [Theory]
    [InlineData("tickets")]
    [InlineData("venues")]
    [InlineData("orders")]
    [InlineData("payments")]
    [InlineData("gateway")]
    [InlineData("dapr_state")]
    public void Postgresql_has_a_database_per_service_and_one_for_the_dapr_state_store(string database)
    {
        Assert.Contains(database, CreatedDatabases());
    }

    [Fact]
    public void The_local_state_store_connects_to_a_database_compose_creates_on_its_published_port()
    {
        var secrets = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Repository.PathOf("components", "local", "secrets.json")));
        var connection = secrets.RootElement.GetProperty("postgres-connection-string").GetString()!;
        var settings = connection.Split(' ').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        Assert.Contains(settings["dbname"], CreatedDatabases());
        Assert.Contains($"127.0.0.1:{settings["port"]}:5432", Compose.Strings("services.postgres.ports"));
        Assert.Equal(Compose.Text("services.postgres.environment.POSTGRES_USER"), settings["user"]);
    }

    [Fact]
    public void Daprd_traces_go_to_the_collector_compose_runs()
    {
        var configuration = Yaml.Load(Repository.PathOf("components", "local", "configuration.yaml"));
        var endpoint = configuration.Text("spec.tracing.otel.endpointAddress")!;

        Assert.Contains($"127.0.0.1:{Port(endpoint)}:{Port(endpoint)}", Compose.Strings("services.jaeger.ports"));
    }

    [Fact]
    public void The_slim_profile_serves_the_placement_and_scheduler_addresses_of_dapr_yaml()
    {
        var runFile = Yaml.Load(Repository.PathOf("dapr.yaml"));

        Assert.Contains($"127.0.0.1:{Port(runFile.Text("common.placementHostAddress")!)}:50005", Compose.Strings("services.placement.ports"));
        Assert.Contains($"127.0.0.1:{Port(runFile.Text("common.schedulerHostAddress")!)}:50006", Compose.Strings("services.scheduler.ports"));
        Assert.Equal(["slim"], Compose.Strings("services.placement.profiles"));
        Assert.Equal(["slim"], Compose.Strings("services.scheduler.profiles"));
    }

    public static TheoryData<string> Apps { get; } = [.. AppIds.All];

    [Theory]
    [MemberData(nameof(Apps))]
    public void The_apps_profile_runs_the_image_the_chart_deploys(string appId)
    {
        var registry = Chart.Values().Text("image.registry");
        var appVersion = Yaml.Load(Repository.ChartPath("Chart.yaml")).Text("appVersion");

        Assert.Equal(["apps"], Compose.Strings($"services.{appId}.profiles"));
        Assert.Equal($"${{TICKETSAGA_REGISTRY:-{registry}}}/{appId}:${{TICKETSAGA_TAG:-{appVersion}}}", Compose.Text($"services.{appId}.image"));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void Each_app_has_a_daprd_in_its_network_namespace_with_the_charts_port_and_protocol(string appId)
    {
        var app = Chart.Values().MapAt($"apps.{appId}");
        var sidecar = Compose.MapAt($"services.{appId}-dapr");
        var command = sidecar.Strings("command");

        Assert.Equal(["apps"], sidecar.Strings("profiles"));
        Assert.Equal($"service:{appId}", sidecar.Text("network_mode"));
        Assert.Equal(appId, Flag(command, "--app-id"));
        Assert.Equal(app.Text("port"), Flag(command, "--app-port"));
        Assert.Equal(app.Text("protocol"), Flag(command, "--app-protocol"));
        Assert.Equal(app.Text("protocol") == "http" ? "/readyz" : null, Flag(command, "--app-health-check-path"));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void Sidecars_load_the_shared_and_the_compose_components_with_the_compose_configuration(string appId)
    {
        var command = Compose.Strings($"services.{appId}-dapr.command");
        var mounts = Compose.Strings($"services.{appId}-dapr.volumes").Select(v => v.Split(':'))
            .ToDictionary(v => v[1], v => Path.GetFullPath(Path.Combine(Repository.PathOf("deploy"), v[0])));

        Assert.Equal([Repository.PathOf("components"), DaprEnvironment.ResourcesPath("compose")],
            command.Select((arg, i) => (arg, i)).Where(a => a.arg == "--resources-path").Select(a => mounts[command[a.i + 1]]));
        Assert.Equal(Repository.PathOf("deploy", "compose", "configuration.yaml"), mounts[Flag(command, "--config")!]);
        Assert.Equal("dapr-placement:50005", Flag(command, "--placement-host-address"));
        Assert.Equal("dapr-scheduler:50006", Flag(command, "--scheduler-host-address"));
        Assert.Equal(["apps"], Compose.Strings("services.dapr-placement.profiles"));
        Assert.Equal(["apps"], Compose.Strings("services.dapr-scheduler.profiles"));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void An_app_and_its_sidecar_take_the_dapr_tokens_from_the_shell_never_from_the_file(string appId)
    {
        foreach (var service in new[] { appId, $"{appId}-dapr" })
        {
            var environment = Compose.MapAt($"services.{service}.environment");
            Assert.All(["APP_API_TOKEN", "DAPR_API_TOKEN"], token =>
            {
                Assert.True(environment.ContainsKey(token), $"{service} lacks {token}");
                Assert.Null(environment[token]);
            });
        }
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void App_containers_are_locked_down_like_the_charts_pods_and_only_the_gateway_is_published(string appId)
    {
        var app = Compose.MapAt($"services.{appId}");
        var gatewayPort = Chart.Values().Text("apps.gateway.port");

        Assert.Equal("true", app.Text("read_only"));
        Assert.Equal(["/tmp"], app.Strings("tmpfs"));
        Assert.Equal(["ALL"], app.Strings("cap_drop"));
        Assert.Equal("service_healthy", app.Text("depends_on.postgres.condition"));
        Assert.Equal(appId == AppIds.Gateway ? [$"127.0.0.1:{gatewayPort}:{gatewayPort}"] : [], app.Strings("ports"));
    }

    [Fact]
    public void The_compose_pubsub_reaches_the_brokers_listener_on_the_compose_network()
    {
        var brokers = DaprEnvironment.Load("compose").Component(Topics.PubSub).Value("brokers")!;

        Assert.StartsWith("kafka:", brokers, StringComparison.Ordinal);
        Assert.Contains($"://{brokers}", Compose.Text("services.kafka.environment.KAFKA_ADVERTISED_LISTENERS"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_compose_state_store_connects_to_the_postgres_service_and_a_database_it_creates()
    {
        var secrets = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(DaprEnvironment.ResourcesPath("compose"), "secrets.json")));
        var connection = secrets.RootElement.GetProperty("postgres-connection-string").GetString()!;
        var settings = connection.Split(' ').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

        Assert.Equal(("postgres", "5432"), (settings["host"], settings["port"]));
        Assert.Contains(settings["dbname"], CreatedDatabases());
        Assert.Equal("/components/compose/secrets.json", DaprEnvironment.Load("compose").Component("secretstore").Value("secretsFile"));
    }

    [Fact]
    public void The_compose_configuration_is_the_local_one_with_traces_to_jaeger_and_no_allowlist_without_sentry()
    {
        var local = Yaml.Load(Repository.PathOf("components", "local", "configuration.yaml")).MapAt("spec");
        var compose = Yaml.Load(Repository.PathOf("deploy", "compose", "configuration.yaml")).MapAt("spec");

        Assert.Equal("jaeger:4317", compose.Text("tracing.otel.endpointAddress"));
        Assert.Null(compose.At("accessControl"));
        Assert.Null(Compose.At("services.sentry"));
        Assert.True(Yaml.DeepEquals(local.MapAt("metric"), compose.MapAt("metric")));
        Assert.True(Yaml.DeepEquals(local.MapAt("logging"), compose.MapAt("logging")));
    }

    private static string? Flag(IReadOnlyList<string> command, string name) =>
        command.Select((arg, i) => (arg, i)).Where(a => a.arg == name).Select(a => command[a.i + 1]).SingleOrDefault();

    private static HashSet<string> CreatedDatabases()
    {
        var init = Compose.Strings("services.postgres.volumes").Single(v => v.EndsWith(":/docker-entrypoint-initdb.d:ro", StringComparison.Ordinal));
        var folder = Path.Combine(Repository.PathOf("deploy"), init.Split(':')[0]);
        var sql = string.Concat(Directory.EnumerateFiles(folder, "*.sql").Select(File.ReadAllText));
        return [.. CreateDatabase().Matches(sql).Select(m => m.Groups["name"].Value)];
    }

    private static string Port(string hostAndPort) => hostAndPort[(hostAndPort.LastIndexOf(':') + 1)..];

    [GeneratedRegex(@"CREATE DATABASE (?<name>\w+)", RegexOptions.IgnoreCase)]
    private static partial Regex CreateDatabase();
}
