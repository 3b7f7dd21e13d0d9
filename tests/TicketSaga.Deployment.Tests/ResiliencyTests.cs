using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

public sealed class ResiliencyTests
{
    public static TheoryData<string> Environments => DaprEnvironment.Names;

    [Theory]
    [MemberData(nameof(Environments))]
    public void Targets_name_existing_apps_and_components_and_policies(string environment)
    {
        var env = DaprEnvironment.Load(environment);
        var spec = env.Resiliency;
        var retries = spec.MapAt("policies.retries").Keys;
        var timeouts = spec.MapAt("policies.timeouts").Keys;
        var breakers = spec.MapAt("policies.circuitBreakers").Keys;

        var targets = spec.MapAt("targets.apps").Select(t => (Name: t.Key, IsApp: true, Policy: (Map)t.Value!))
            .Concat(spec.MapAt("targets.components").SelectMany(c => ((Map)c.Value!).Select(d => (Name: c.Key, IsApp: false, Policy: (Map)d.Value!))));
        foreach (var (name, isApp, policy) in targets)
        {
            Assert.Contains(name, isApp ? AppIds.All : env.Components.Select(c => c.Name));
            Assert.True(policy.Text("retry") is not { } retry || retries.Contains(retry), $"{name}: retry policy {policy.Text("retry")} is not defined");
            Assert.True(policy.Text("timeout") is not { } timeout || timeouts.Contains(timeout), $"{name}: timeout {policy.Text("timeout")} is not defined");
            Assert.True(policy.Text("circuitBreaker") is not { } breaker || breakers.Contains(breaker), $"{name}: circuit breaker {policy.Text("circuitBreaker")} is not defined");
        }
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Deliveries_are_retried_three_times_with_exponential_backoff_then_dead_lettered(string environment)
    {
        var spec = DaprEnvironment.Load(environment).Resiliency;

        var retry = spec.MapAt("policies.retries").MapAt(spec.Text("targets.components.pubsub.inbound.retry")!);

        Assert.Equal(("exponential", "3"), (retry.Text("policy"), retry.Text("maxRetries")));
    }

    [Theory]
    [MemberData(nameof(Environments))]
    public void Every_invocation_target_has_a_timeout_and_a_circuit_breaker(string environment)
    {
        var apps = DaprEnvironment.Load(environment).Resiliency.MapAt("targets.apps");

        Assert.All(Saga.InvocationTargets, app =>
        {
            var policy = apps.MapAt(app);
            Assert.NotNull(policy.Text("timeout"));
            Assert.NotNull(policy.Text("circuitBreaker"));
        });
    }

    [Fact]
    public void The_chart_renders_the_same_policies_as_components_resiliency_yaml()
    {
        var shared = Yaml.Load(Repository.PathOf("components", "resiliency.yaml")).MapAt("spec");

        Assert.True(Yaml.DeepEquals(shared, Chart.Values().MapAt("dapr.resiliency")),
            "deploy/helm/ticketsaga/values.yaml dapr.resiliency differs from components/resiliency.yaml spec");
    }
}
