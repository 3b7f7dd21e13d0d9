using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TicketSaga.Cli.Bench;

namespace TicketSaga.Cli.Commands;

/// <summary><c>ticketsaga bench …</c>: bounded measurements that stop by themselves.</summary>
public static class BenchCommands
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object." };
        var duration = new Option<int>("--duration") { Description = "Measured seconds per phase.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured seconds before each phase.", DefaultValueFactory = _ => 2 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent callers (and raw connections).", DefaultValueFactory = _ => 64 };
        var postgres = new Option<string?>("--postgres")
        {
            Description = "PostgreSQL connection string; else TICKETSAGA_POSTGRES; else a throwaway local cluster.",
        };

        var inventory = new Command("inventory",
            "ReserveQuota through ticket-service (real Kestrel, HTTP/2 gRPC) on one hot ticket type, called directly and through the embedded runtime's sidecars, against the raw single-row conditional UPDATE on the same PostgreSQL.")
        {
            json, duration, warmup, concurrency, postgres,
        };
        inventory.SetAction(async (parse, cancellationToken) =>
        {
            var options = new InventoryBenchmark.Options(
                TimeSpan.FromSeconds(parse.GetValue(duration)),
                TimeSpan.FromSeconds(parse.GetValue(warmup)),
                parse.GetValue(concurrency),
                parse.GetValue(postgres));
            if (options.Duration <= TimeSpan.Zero || options.Warmup < TimeSpan.Zero || options.Concurrency <= 0)
            {
                Console.Error.WriteLine("--duration and --concurrency must be positive, --warmup not negative.");
                return 2;
            }

            var result = await InventoryBenchmark.RunAsync(options, parse.GetValue(json) ? null : Console.Error, cancellationToken);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
            }
            else
            {
                Print(result);
            }

            return result.Oversold == 0 && result.ConservationHolds ? 0 : 1;
        });

        return new Command("bench", "Measure TicketSaga components.") { inventory, CreateRuntime(json, postgres) };
    }

    private static Command CreateRuntime(Option<bool> json, Option<string?> postgres)
    {
        Option<int> Size(string name, string description, int value) => new(name) { Description = description, DefaultValueFactory = _ => value };
        var invocations = Size("--invocations", "Measured sequential gRPC calls each way (direct and through the sidecar).", 5000);
        var invocationWarmup = Size("--invocation-warmup", "Unmeasured calls each way first.", 500);
        var latencyMessages = Size("--latency-messages", "Messages published one at a time, each waited for.", 300);
        var messages = Size("--messages", "Messages of the throughput phase.", 5000);
        var keys = Size("--keys", "Partition keys of the throughput phase.", 32);
        var publishers = Size("--publishers", "Concurrent publishers of the throughput phase.", 8);
        var reminders = Size("--reminders", "One-shot reminders registered due now.", 2000);
        var reminderActors = Size("--reminder-actors", "Actor ids the reminders are spread over.", 200);
        var workflows = Size("--workflows", "Workflows of each throughput phase (one activity, a chain of five, a fan-out to five) scheduled at once.", 500);
        var workflowLatencyRuns = Size("--workflow-latency-runs", "Three-activity workflows run one at a time for the latency figures.", 100);
        var phaseTimeout = Size("--phase-timeout", "Seconds after which a phase stops and reports what it got done.", 60);
        var sizes = new[] { invocations, invocationWarmup, latencyMessages, messages, keys, publishers, reminders, reminderActors, workflows, workflowLatencyRuns, phaseTimeout };

        var runtime = new Command("runtime",
            "The embedded Dapr runtime with small Dapr SDK apps on real Kestrel: gRPC invocation overhead, publish→deliver latency and throughput, reminders/s, workflows/s.")
        {
            json, postgres,
        };
        foreach (var size in sizes)
        {
            runtime.Options.Add(size);
            size.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() < (size == invocationWarmup ? 0 : 1))
                {
                    result.AddError($"{size.Name} must be {(size == invocationWarmup ? "zero or more" : "positive")}.");
                }
            });
        }

        runtime.SetAction(async (parse, cancellationToken) =>
        {
            var options = new RuntimeBenchmark.Options(
                parse.GetValue(invocations), parse.GetValue(invocationWarmup), parse.GetValue(latencyMessages),
                parse.GetValue(messages), parse.GetValue(keys), parse.GetValue(publishers),
                parse.GetValue(reminders), parse.GetValue(reminderActors), parse.GetValue(workflows), parse.GetValue(workflowLatencyRuns),
                TimeSpan.FromSeconds(parse.GetValue(phaseTimeout)), parse.GetValue(postgres));
            var result = await RuntimeBenchmark.RunAsync(options, Console.Error, cancellationToken);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
            }
            else
            {
                Print(result);
            }

            return result.Complete && result.OutOfOrderDeliveries == 0 ? 0 : 1;
        });
        return runtime;
    }

    public static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    private static void Print(InventoryBenchmark.Result result)
    {
        var table = new Table().AddColumns("", "per second", "p50 ms", "p99 ms", "calls");
        table.AddRow("ReserveQuota via gRPC, direct", $"{result.GrpcReservesPerS:N0}", $"{result.GrpcP50Ms:N2}", $"{result.GrpcP99Ms:N2}", $"{result.GrpcReserves:N0}");
        table.AddRow("ReserveQuota through the sidecars", $"{result.SidecarReservesPerS:N0}", $"{result.SidecarP50Ms:N2}", $"{result.SidecarP99Ms:N2}", $"{result.SidecarReserves:N0}");
        table.AddRow("raw single-row UPDATE", $"{result.RawRowUpdatesPerS:N0}", $"{result.RawP50Ms:N2}", $"{result.RawP99Ms:N2}", $"{result.RawRowUpdates:N0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"direct / raw row {result.Ratio:N2} · sidecars / direct {result.SidecarRatio:N2} · load average {result.LoadAverage} · oversold {result.Oversold} · conservation {(result.ConservationHolds ? "holds" : "BROKEN")} · {result.Concurrency} callers · {result.DurationS} s · PostgreSQL: {result.Postgres}");
    }

    private static void Print(RuntimeBenchmark.Result result)
    {
        var table = new Table().AddColumns("", "p50 ms", "p99 ms", "rate", "count", "Dapr v1.17");
        table.AddRow("gRPC invoke, direct", $"{result.InvokeDirectP50Ms:N3}", $"{result.InvokeDirectP99Ms:N3}", "", $"{result.Invocations:N0}", "");
        table.AddRow("gRPC invoke, through sidecar", $"{result.InvokeSidecarP50Ms:N3}", $"{result.InvokeSidecarP99Ms:N3}", "", $"{result.Invocations:N0}", "");
        table.AddRow("[bold]invocation overhead[/]", $"{result.InvokeOverheadP50Ms:N3}", $"{result.InvokeOverheadP99Ms:N3}", "", "", $"+{result.DaprV117InvokeOverheadP50Ms} ms p50");
        table.AddRow("publish→deliver, one at a time", $"{result.PublishDeliverP50Ms:N2}", $"{result.PublishDeliverP99Ms:N2}", "", $"{result.LatencyMessagesDelivered:N0}", "");
        table.AddRow("publish→deliver, under load", $"{result.UnderLoadPublishDeliverP50Ms:N2}", $"{result.UnderLoadPublishDeliverP99Ms:N2}",
            $"{result.MessagesPerS:N0} msg/s", $"{result.MessagesDelivered:N0}/{result.MessagesPublished:N0}", "");
        table.AddRow("reminders fired", "", "", $"{result.RemindersPerS:N0} /s", $"{result.RemindersFired:N0}/{result.RemindersRegistered:N0}", "");
        table.AddRow("workflows completed (one activity)", "", "", $"{result.WorkflowsPerS:N0} /s", $"{result.WorkflowsCompleted:N0}/{result.WorkflowsScheduled:N0}", $"{result.DaprV117WorkflowsPerS} /s");
        table.AddRow($"workflows completed (chain of {BenchChainWorkflow.Activities})", "", "", $"{result.ChainWorkflowsPerS:N0} /s", $"{result.ChainWorkflowsCompleted:N0}", "");
        table.AddRow($"workflows completed (fan-out to {BenchFanOutWorkflow.Activities})", "", "", $"{result.FanOutWorkflowsPerS:N0} /s", $"{result.FanOutWorkflowsCompleted:N0}", "");
        table.AddRow("three-activity workflow, scheduled → completed", $"{result.ThreeActivityWorkflowP50Ms:N1} ms", $"{result.ThreeActivityWorkflowP99Ms:N1} ms", "", $"{result.ThreeActivityWorkflowRuns:N0}", "");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"{(result.Complete ? "every phase completed" : "[red]some phase hit its time cap[/]")} · duplicates {result.DuplicateDeliveries} · out of order {result.OutOfOrderDeliveries} · PostgreSQL: {result.Postgres}");
    }
}
