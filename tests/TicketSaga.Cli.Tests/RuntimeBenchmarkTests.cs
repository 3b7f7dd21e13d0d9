using System.Text.Json;
using TicketSaga.Cli.Bench;
using TicketSaga.Cli.Commands;
using TicketSaga.Testing;

namespace TicketSaga.Cli.Tests;

public sealed class RuntimeBenchmarkTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_small_runtime_benchmark_completes_every_phase_and_reports_every_figure()
    {
        var options = new RuntimeBenchmark.Options(
            Invocations: 50, InvocationWarmup: 10, LatencyMessages: 10, Messages: 40, PartitionKeys: 4, Publishers: 2,
            Reminders: 20, ReminderActors: 5, Workflows: 10, WorkflowLatencyRuns: 5, PhaseTimeout: TimeSpan.FromSeconds(30), Postgres: postgres.ConnectionString);

        var result = await RuntimeBenchmark.RunAsync(options, null, TestContext.Current.CancellationToken);
        var json = JsonDocument.Parse(JsonSerializer.Serialize(result, BenchCommands.JsonOptions)).RootElement;

        Assert.True(result.Complete);
        Assert.Equal(50, result.Invocations);
        Assert.Equal(10, result.LatencyMessagesDelivered);
        Assert.Equal(40, result.MessagesPublished);
        Assert.Equal(40, result.MessagesDelivered);
        Assert.Equal(0, result.OutOfOrderDeliveries);
        Assert.Equal(20, result.RemindersRegistered);
        Assert.Equal(20, result.RemindersFired);
        Assert.Equal(10, result.WorkflowsCompleted);
        Assert.Equal(10, result.ChainWorkflowsCompleted);
        Assert.Equal(10, result.FanOutWorkflowsCompleted);
        Assert.Equal(5, result.ThreeActivityWorkflowRuns);
        foreach (var rate in new[] { "messages_per_s", "reminders_per_s", "workflows_per_s", "chain_workflows_per_s", "fan_out_workflows_per_s", "three_activity_workflow_p50_ms", "three_activity_workflow_p99_ms", "invoke_direct_p50_ms", "invoke_sidecar_p50_ms", "publish_deliver_p50_ms", "publish_deliver_p99_ms" })
        {
            Assert.True(json.GetProperty(rate).GetDouble() > 0, rate);
        }

        Assert.Equal(JsonValueKind.Number, json.GetProperty("invoke_overhead_p50_ms").ValueKind);
        Assert.Equal(JsonValueKind.Number, json.GetProperty("invoke_overhead_p99_ms").ValueKind);
        Assert.Equal(1.68, json.GetProperty("dapr_v117_invoke_overhead_p50_ms").GetDouble());
        Assert.Equal("35-98", json.GetProperty("dapr_v117_workflows_per_s").GetString());
        Assert.StartsWith("--postgres ", json.GetProperty("postgres").GetString());
    }
}
