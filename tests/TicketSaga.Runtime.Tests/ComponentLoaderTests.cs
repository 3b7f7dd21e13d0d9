using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

public sealed class ComponentLoaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-components-").FullName;

    [Fact]
    public void The_shared_delivery_policy_retries_after_2_8_and_30_seconds_as_resiliency_yaml_says()
    {
        var resources = ResourceLoader.Load(Repository.EmbeddedResources);

        var delivery = resources.InboundFor("payment-service", "pubsub").Retry!;

        Assert.Equal((RetryKind.Exponential, 3), (delivery.Kind, delivery.MaxRetries));
        Assert.Equal([2.0, 8.0, 30.0], Enumerable.Range(1, 3).Select(r => delivery.DelayBeforeRetry(r).TotalSeconds));
    }

    [Fact]
    public void Malformed_yaml_names_the_file_and_line()
    {
        Write("pubsub.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: [pubsub.kafka\n");

        var error = Assert.Throws<ComponentLoadException>(() => ResourceLoader.Load([_folder]));

        Assert.Contains(Path.Combine(_folder, "pubsub.yaml") + ":", error.Message);
        Assert.Contains("malformed YAML", error.Message);
    }

    [Fact]
    public void An_unknown_component_type_names_the_file_the_component_and_the_supported_types()
    {
        Write("redis.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: cache\nspec:\n  type: state.redis\n  version: v1\n");

        var error = Assert.Throws<ComponentLoadException>(() => ResourceLoader.Load([_folder]));

        Assert.Equal(
            $"{Path.Combine(_folder, "redis.yaml")}:6: component 'cache' has type 'state.redis', which the embedded runtime does not support; " +
            "supported types: pubsub.kafka, state.postgresql, secretstores.local.file, secretstores.local.env, bindings.cron, bindings.postgresql, bindings.postgres",
            error.Message);
    }

    [Fact]
    public void An_unknown_binding_type_is_refused_like_any_other_unknown_type()
    {
        Write("kafka.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: events\nspec:\n  type: bindings.kafka\n  version: v1\n");

        var error = Assert.Throws<ComponentLoadException>(() => ResourceLoader.Load([_folder]));

        Assert.StartsWith($"{Path.Combine(_folder, "kafka.yaml")}:6: component 'events' has type 'bindings.kafka', which the embedded runtime does not support", error.Message);
    }

    [Fact]
    public void A_cron_binding_with_a_schedule_daprd_cannot_parse_stops_the_start_with_the_file_and_line()
    {
        Write("cron.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: cron\nspec:\n  type: bindings.cron\n  version: v1\n  metadata:\n    - name: schedule\n      value: \"@every ten seconds\"\n");

        var error = Assert.Throws<ComponentLoadException>(() => ResourceLoader.Load([_folder]));

        Assert.StartsWith($"{Path.Combine(_folder, "cron.yaml")}:6: component 'cron': invalid schedule format '@every ten seconds'", error.Message);
    }

    [Fact]
    public void A_postgresql_binding_without_a_connection_string_stops_the_start()
    {
        Write("sql.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: sqldb\nspec:\n  type: bindings.postgresql\n  version: v1\n");

        var error = Assert.Throws<ComponentLoadException>(() => ResourceLoader.Load([_folder]));

        Assert.Equal($"{Path.Combine(_folder, "sql.yaml")}:6: component 'sqldb' has no connectionString (or url) metadata", error.Message);
    }

    [Fact]
    public void Components_resiliency_and_subscriptions_are_read_with_scopes()
    {
        Write("components.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: statestore
            spec:
              type: state.postgresql
              version: v2
              metadata:
                - name: connectionString
                  secretKeyRef:
                    name: pg
                    key: connection
                - name: actorStateStore
                  value: "true"
            scopes: [order-service]
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: pubsub
            spec:
              type: pubsub.kafka
              version: v1
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Configuration
            metadata:
              name: tracing
            spec:
              tracing:
                samplingRate: "1"
            """);
        Write("resiliency.yml", """
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: resiliency
            spec:
              policies:
                timeouts:
                  general: 5s
                retries:
                  pubsubRetry:
                    policy: exponential
                    duration: 200ms
                    maxInterval: 1s
                    maxRetries: 3
                  appRetry:
                    policy: constant
                    duration: 1m30s
                    maxRetries: 2
                circuitBreakers:
                  simpleCB:
                    maxRequests: 1
                    timeout: 30s
                    trip: consecutiveFailures >= 5
              targets:
                apps:
                  ticket-service:
                    retry: appRetry
                    timeout: general
                    circuitBreaker: simpleCB
                components:
                  pubsub:
                    inbound:
                      retry: pubsubRetry
            """);
        Write("subscription.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Subscription
            metadata:
              name: legacy
            spec:
              pubsubname: pubsub
              topic: payments.payment.succeeded
              route: /payments
            scopes: [order-service]
            """);

        var resources = ResourceLoader.Load([_folder]);

        Assert.Equal(["statestore", "pubsub"], resources.ComponentsFor("order-service").Select(c => c.Name));
        Assert.Equal(["pubsub"], resources.ComponentsFor("payment-service").Select(c => c.Name));
        Assert.Equal(new SecretKeyRef("pg", "connection"), resources.Components[0].Metadata[0].SecretKeyRef);
        var inbound = resources.InboundFor("payment-service", "pubsub").Retry!;
        Assert.Equal((RetryKind.Exponential, 3), (inbound.Kind, inbound.MaxRetries));
        Assert.Equal([200, 300, 450, 675, 1000], Enumerable.Range(1, 5).Select(r => (int)inbound.DelayBeforeRetry(r).TotalMilliseconds));
        var app = resources.AppTargetFor("order-service", "ticket-service")!;
        Assert.Equal((TimeSpan.FromSeconds(90), TimeSpan.FromSeconds(5), "simpleCB"), (app.Retry!.Interval, app.Timeout, app.CircuitBreaker));
        var subscription = Assert.Single(resources.DeclarativeSubscriptionsFor("order-service"));
        Assert.Equal("/payments", subscription.DefaultRoute);
        Assert.Empty(resources.DeclarativeSubscriptionsFor("payment-service"));
    }

    [Theory]
    [InlineData("local")]
    [InlineData("embedded")]
    public void The_repository_components_of_each_environment_load_with_the_same_names(string environment)
    {
        var resources = ResourceLoader.Load([Repository.SharedComponents, Path.Combine(Repository.SharedComponents, environment)]);

        Assert.Equal(["pubsub", "secretstore", "statestore"], resources.Components.Select(c => c.Name).Order());
        Assert.Equal(RetryKind.Exponential, resources.InboundFor("order-service", "pubsub").Retry!.Kind);
        Assert.Equal(3, resources.InboundFor("order-service", "pubsub").Retry!.MaxRetries);
    }


    [Fact]
    public void Without_a_resources_folder_a_pubsub_named_pubsub_and_the_default_retry_policy_apply()
    {
        var resources = ResourceLoader.Load([]);

        Assert.Equal("pubsub", Assert.Single(resources.ComponentsFor("any-app")).Name);
        Assert.Equal(RetryPolicy.Default, resources.InboundFor("any-app", "pubsub").Retry);
    }

    [Fact]
    public void A_target_naming_an_undefined_policy_is_refused()
    {
        Write("resiliency.yaml", """
            apiVersion: dapr.io/v1alpha1
            kind: Resiliency
            metadata:
              name: resiliency
            spec:
              policies:
                retries: {}
              targets:
                components:
                  pubsub:
                    inbound:
                      retry: missing
            """);

        var error = Assert.Throws<ComponentLoadException>(() => ResourceLoader.Load([_folder]));

        Assert.Contains("resiliency.yaml:12: retry policy 'missing' is not defined", error.Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private void Write(string name, string yaml) => File.WriteAllText(Path.Combine(_folder, name), yaml);
}

public sealed class RuntimeStartupTests(PostgresServer postgres)
{
    [Fact]
    public async Task The_runtime_refuses_to_start_with_an_unsupported_component()
    {
        var folder = Directory.CreateTempSubdirectory("ticketsaga-components-").FullName;
        await File.WriteAllTextAsync(Path.Combine(folder, "pubsub.yaml"),
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n  type: pubsub.redis\n  version: v1\n", TestContext.Current.CancellationToken);
        var connectionString = await postgres.CreateDatabaseAsync("runtime");

        var error = await Assert.ThrowsAsync<ComponentLoadException>(() => EmbeddedRuntime.StartAsync(
            new RuntimeOptions { PostgresConnectionString = connectionString, Database = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database!, ResourcesPaths = [folder] },
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance, TestContext.Current.CancellationToken));

        Assert.Contains("component 'pubsub' has type 'pubsub.redis'", error.Message);
        Directory.Delete(folder, recursive: true);
    }
}
