using System.Text.RegularExpressions;
using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

/// <summary>deploy/compose.yaml serves exactly what components/local points at.</summary>
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
        Assert.Contains($"{Port(brokers)}:{Port(brokers)}", Compose.Strings("services.kafka.ports"));
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
        Assert.Contains($"{settings["port"]}:5432", Compose.Strings("services.postgres.ports"));
        Assert.Equal(Compose.Text("services.postgres.environment.POSTGRES_USER"), settings["user"]);
    }

    [Fact]
    public void Daprd_traces_go_to_the_collector_compose_runs()
    {
        var configuration = Yaml.Load(Repository.PathOf("components", "local", "configuration.yaml"));
        var endpoint = configuration.Text("spec.tracing.otel.endpointAddress")!;

        Assert.Contains($"{Port(endpoint)}:{Port(endpoint)}", Compose.Strings("services.jaeger.ports"));
    }

    [Fact]
    public void The_slim_profile_serves_the_placement_and_scheduler_addresses_of_dapr_yaml()
    {
        var runFile = Yaml.Load(Repository.PathOf("dapr.yaml"));

        Assert.Contains($"{Port(runFile.Text("common.placementHostAddress")!)}:50005", Compose.Strings("services.placement.ports"));
        Assert.Contains($"{Port(runFile.Text("common.schedulerHostAddress")!)}:50006", Compose.Strings("services.scheduler.ports"));
        Assert.Equal(["slim"], Compose.Strings("services.placement.profiles"));
        Assert.Equal(["slim"], Compose.Strings("services.scheduler.profiles"));
    }

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
