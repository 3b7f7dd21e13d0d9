using System.Diagnostics;
using Dapr.Actors;
using Dapr.Actors.Client;
using Dapr.Client;
using Dapr.Workflow;
using Grpc.Net.Client;
using HdrHistogram;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Cli.Bench.Echo;
using TicketSaga.Runtime.Actors;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Postgres;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Cli.Bench;

/// <summary>
/// Measures the embedded runtime's hot paths in one run, on a fresh runtime database: gRPC invocation
/// through the sidecar against direct calls, publish→deliver latency and throughput, reminder firing
/// and workflow completion rates. Every phase has a count and a time cap.
/// </summary>
public static class RuntimeBenchmark
{
    private const string EchoAppId = "bench-echo";
    private const string DaprAppId = "bench-app";

    public sealed record Options(
        int Invocations,
        int InvocationWarmup,
        int LatencyMessages,
        int Messages,
        int PartitionKeys,
        int Publishers,
        int Reminders,
        int ReminderActors,
        int Workflows,
        int WorkflowLatencyRuns,
        TimeSpan PhaseTimeout,
        string? Postgres);

    public sealed record Result(
        double InvokeOverheadP50Ms,
        double InvokeOverheadP99Ms,
        double InvokeDirectP50Ms,
        double InvokeDirectP99Ms,
        double InvokeSidecarP50Ms,
        double InvokeSidecarP99Ms,
        int Invocations,
        double PublishDeliverP50Ms,
        double PublishDeliverP99Ms,
        int LatencyMessagesDelivered,
        double MessagesPerS,
        double UnderLoadPublishDeliverP50Ms,
        double UnderLoadPublishDeliverP99Ms,
        int MessagesPublished,
        int MessagesDelivered,
        int PartitionKeys,
        int Publishers,
        int DuplicateDeliveries,
        int OutOfOrderDeliveries,
        double RemindersPerS,
        int RemindersRegistered,
        int RemindersFired,
        double ReminderRegistrationS,
        double WorkflowsPerS,
        int WorkflowsScheduled,
        int WorkflowsCompleted,
        double ChainWorkflowsPerS,
        int ChainWorkflowsCompleted,
        double FanOutWorkflowsPerS,
        int FanOutWorkflowsCompleted,
        double ThreeActivityWorkflowP50Ms,
        double ThreeActivityWorkflowP99Ms,
        int ThreeActivityWorkflowRuns,
        double DaprV117InvokeOverheadP50Ms,
        string DaprV117WorkflowsPerS,
        bool Complete,
        double PhaseTimeoutS,
        string Postgres);

    private sealed record InvocationFigures(LongHistogram Direct, LongHistogram Sidecar, int Calls);

    private sealed record DeliveryFigures(LongHistogram Latencies, int Published, int Delivered, int Duplicates, int OutOfOrder, TimeSpan Elapsed);

    public static async Task<Result> RunAsync(Options options, TextWriter? progress, CancellationToken cancellationToken)
    {
        var (server, source, cluster) = await InventoryBenchmark.ResolvePostgresAsync(options.Postgres, progress, cancellationToken);
        await using var _ = cluster;
        var database = "ticketsaga_rtbench_" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            var runtimeOptions = new RuntimeOptions { PostgresConnectionString = server, Database = database };
            await using var runtime = await EmbeddedRuntime.StartAsync(runtimeOptions, NullLoggerFactory.Instance, cancellationToken);
            var probe = new BenchProbe();
            await using var echo = await RuntimeBenchApp.StartEchoAsync((await AddSidecarAsync(runtime, EchoAppId, AppChannelProtocol.Grpc, cancellationToken)).App);
            var sidecar = await AddSidecarAsync(runtime, DaprAppId, AppChannelProtocol.Http, cancellationToken);
            await using var app = await RuntimeBenchApp.StartDaprAppAsync(sidecar.App, probe);
            await runtime.Services.GetRequiredService<ActorPlacement>().WhenDiscoveredAsync(DaprAppId, cancellationToken).WaitAsync(options.PhaseTimeout, cancellationToken);
            await sidecar.Services.GetRequiredService<SidecarSubscriptions>().Discovered.WaitAsync(options.PhaseTimeout, cancellationToken);
            progress?.WriteLine($"Embedded runtime on {source}, database {database}; phases capped at {options.PhaseTimeout.TotalSeconds:N0} s each");

            using var dapr = new DaprClientBuilder()
                .UseGrpcEndpoint($"http://127.0.0.1:{sidecar.App.GrpcPort}")
                .UseHttpEndpoint($"http://127.0.0.1:{sidecar.App.HttpPort}")
                .Build();

            progress?.WriteLine($"Invocation: {options.InvocationWarmup} warm-up + {options.Invocations} sequential calls each way, alternating direct and through the sidecar");
            var invocation = await RunCappedAsync(options, token => MeasureInvocationAsync(echo.App, sidecar.App, options, token), cancellationToken);

            progress?.WriteLine($"Pub/sub latency: {options.LatencyMessages} messages, one at a time");
            var latency = await RunCappedAsync(options, token => MeasureSequentialDeliveryAsync(dapr, probe, options.LatencyMessages, token), cancellationToken);

            progress?.WriteLine($"Pub/sub throughput: {options.Messages} messages over {options.PartitionKeys} keys from {options.Publishers} concurrent publishers");
            var throughput = await RunCappedAsync(options, token => MeasureThroughputAsync(dapr, probe, options, token), cancellationToken);

            progress?.WriteLine($"Reminders: {options.Reminders} one-shot reminders due now across {Math.Min(options.Reminders, options.ReminderActors)} actors");
            var (registered, fired, registration, remindersElapsed) =
                await RunCappedAsync(options, token => MeasureRemindersAsync(sidecar.App, probe, options, token), cancellationToken);

            progress?.WriteLine($"Workflows: {options.Workflows} workflows with one activity, scheduled at once");
            var workflowClient = app.Services.GetRequiredService<DaprWorkflowClient>();
            var (scheduled, completed, workflowsElapsed) = await RunCappedAsync(
                options, token => MeasureWorkflowsAsync(workflowClient, nameof(BenchWorkflow), options.Workflows, token), cancellationToken);

            progress?.WriteLine($"Workflows: {options.Workflows} sequential chains of {BenchChainWorkflow.Activities} activities, scheduled at once");
            var (_, chainsCompleted, chainsElapsed) = await RunCappedAsync(
                options, token => MeasureWorkflowsAsync(workflowClient, nameof(BenchChainWorkflow), options.Workflows, token), cancellationToken);

            progress?.WriteLine($"Workflows: {options.Workflows} fan-outs to {BenchFanOutWorkflow.Activities} parallel activities, scheduled at once");
            var (_, fanOutsCompleted, fanOutsElapsed) = await RunCappedAsync(
                options, token => MeasureWorkflowsAsync(workflowClient, nameof(BenchFanOutWorkflow), options.Workflows, token), cancellationToken);

            progress?.WriteLine($"Workflow latency: {options.WorkflowLatencyRuns} three-activity workflows, one at a time, scheduled to completed");
            var threeStep = await RunCappedAsync(options, token => MeasureWorkflowLatencyAsync(workflowClient, options.WorkflowLatencyRuns, token), cancellationToken);

            var complete = invocation.Calls == options.Invocations
                && latency.Delivered == latency.Published && latency.Published == options.LatencyMessages
                && throughput.Delivered == throughput.Published && throughput.Published > 0
                && fired == registered && registered > 0
                && completed == options.Workflows && chainsCompleted == options.Workflows && fanOutsCompleted == options.Workflows
                && threeStep.TotalCount == options.WorkflowLatencyRuns;
            return new Result(
                Ms(Percentile(invocation.Sidecar, 50) - Percentile(invocation.Direct, 50)),
                Ms(Percentile(invocation.Sidecar, 99) - Percentile(invocation.Direct, 99)),
                Ms(Percentile(invocation.Direct, 50)), Ms(Percentile(invocation.Direct, 99)),
                Ms(Percentile(invocation.Sidecar, 50)), Ms(Percentile(invocation.Sidecar, 99)),
                invocation.Calls,
                Ms(Percentile(latency.Latencies, 50)), Ms(Percentile(latency.Latencies, 99)), latency.Delivered,
                PerSecond(throughput.Delivered, throughput.Elapsed),
                Ms(Percentile(throughput.Latencies, 50)), Ms(Percentile(throughput.Latencies, 99)),
                throughput.Published, throughput.Delivered, options.PartitionKeys, options.Publishers,
                latency.Duplicates + throughput.Duplicates, latency.OutOfOrder + throughput.OutOfOrder,
                PerSecond(fired, remindersElapsed), registered, fired, Math.Round(registration.TotalSeconds, 3),
                PerSecond(completed, workflowsElapsed), scheduled, completed,
                PerSecond(chainsCompleted, chainsElapsed), chainsCompleted, PerSecond(fanOutsCompleted, fanOutsElapsed), fanOutsCompleted,
                Ms(Percentile(threeStep, 50)), Ms(Percentile(threeStep, 99)), (int)threeStep.TotalCount,
                1.68, "35-98",
                complete, options.PhaseTimeout.TotalSeconds, source);
        }
        finally
        {
            await DropDatabaseAsync(server, database, progress);
        }
    }

    /// <summary>A busy server can take a while to drop a database; the figures matter more than the clean-up.</summary>
    private static async Task DropDatabaseAsync(string server, string database, TextWriter? progress)
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString);
            await connection.OpenAsync();
            await PostgresDatabase.DropAsync(connection, database);
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            progress?.WriteLine($"Could not drop the bench database {database}: {ex.Message}");
        }
    }

    private static Task<Sidecar> AddSidecarAsync(EmbeddedRuntime runtime, string appId, AppChannelProtocol protocol, CancellationToken cancellationToken) =>
        runtime.AddSidecarAsync(new AppDescriptor(appId, PortAllocator.FreePort(), protocol, PortAllocator.FreePort(), PortAllocator.FreePort()), cancellationToken);

    /// <summary>Runs a phase under the phase time cap; a capped phase reports what it got done so far.</summary>
    private static async Task<T> RunCappedAsync<T>(Options options, Func<CancellationToken, Task<T>> phase, CancellationToken cancellationToken)
    {
        using var cap = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cap.CancelAfter(options.PhaseTimeout);
        var result = await phase(cap.Token);
        cancellationToken.ThrowIfCancellationRequested();
        return result;
    }

    /// <summary>The same call, alternately direct to the app and through the caller's sidecar, one at a time, warm.</summary>
    private static async Task<InvocationFigures> MeasureInvocationAsync(AppDescriptor echo, AppDescriptor caller, Options options, CancellationToken cap)
    {
        using var channel = GrpcChannel.ForAddress(echo.AppAddress);
        var direct = new BenchEcho.BenchEchoClient(channel);
        var throughSidecar = new BenchEcho.BenchEchoClient(DaprClient.CreateInvocationInvoker(echo.AppId, $"http://127.0.0.1:{caller.GrpcPort}"));
        var request = new EchoMessage { Text = "hold 2 seats" };
        var directLatencies = NewHistogram();
        var sidecarLatencies = NewHistogram();
        var calls = 0;
        try
        {
            for (var i = 0; i < options.InvocationWarmup + options.Invocations; i++)
            {
                var measured = i >= options.InvocationWarmup;
                // Alternating which goes first keeps either side from always meeting a warmer CPU.
                var (first, firstLatencies, second, secondLatencies) = i % 2 == 0
                    ? (direct, directLatencies, throughSidecar, sidecarLatencies)
                    : (throughSidecar, sidecarLatencies, direct, directLatencies);
                await TimeCallAsync(first, request, measured ? firstLatencies : null, cap);
                await TimeCallAsync(second, request, measured ? secondLatencies : null, cap);
                calls += measured ? 1 : 0;
            }
        }
        catch (Exception ex) when (Capped(ex, cap))
        {
        }

        return new InvocationFigures(directLatencies, sidecarLatencies, calls);
    }

    private static async Task TimeCallAsync(BenchEcho.BenchEchoClient client, EchoMessage request, LongHistogram? latencies, CancellationToken cap)
    {
        var started = Stopwatch.GetTimestamp();
        await client.EchoAsync(request, cancellationToken: cap);
        latencies?.RecordValue((long)Stopwatch.GetElapsedTime(started).TotalMicroseconds);
    }

    /// <summary>Publishes one message and waits for its delivery before the next: latency without queueing.</summary>
    private static async Task<DeliveryFigures> MeasureSequentialDeliveryAsync(DaprClient dapr, BenchProbe probe, int count, CancellationToken cap)
    {
        const int warmup = 20;
        var warm = probe.StartPhase("warmup", warmup);
        var tally = probe.StartPhase("latency", count);
        var published = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            for (var i = 0; i < warmup; i++)
            {
                await PublishAsync(dapr, new BenchMessage("warmup", "warmup", i, Stopwatch.GetTimestamp()), cap);
            }

            await warm.AllDelivered.WaitAsync(cap);
            clock.Restart();
            for (var i = 0; i < count; i++)
            {
                var delivered = tally.NextDelivery;
                await PublishAsync(dapr, new BenchMessage("latency", "latency", i, Stopwatch.GetTimestamp()), cap);
                published++;
                await delivered.WaitAsync(cap);
            }
        }
        catch (Exception ex) when (Capped(ex, cap))
        {
        }

        return Figures(tally, published, clock.Elapsed);
    }

    /// <summary>N messages over K partition keys; each key's messages come from one publisher, in order, publishers running at once.</summary>
    private static async Task<DeliveryFigures> MeasureThroughputAsync(DaprClient dapr, BenchProbe probe, Options options, CancellationToken cap)
    {
        var perKey = Math.Max(1, options.Messages / options.PartitionKeys);
        var tally = probe.StartPhase("throughput", perKey * options.PartitionKeys);
        var published = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            var publishers = Enumerable.Range(0, options.Publishers).Select(publisher => Task.Run(async () =>
            {
                var keys = Enumerable.Range(0, options.PartitionKeys).Where(k => k % options.Publishers == publisher).Select(k => $"key-{k}").ToList();
                for (var n = 0; n < perKey; n++)
                {
                    foreach (var key in keys)
                    {
                        await PublishAsync(dapr, new BenchMessage("throughput", key, n, Stopwatch.GetTimestamp()), cap);
                        Interlocked.Increment(ref published);
                    }
                }
            }, cap));
            await Task.WhenAll(publishers);
            await tally.AllDelivered.WaitAsync(cap);
        }
        catch (Exception ex) when (Capped(ex, cap))
        {
        }

        return Figures(tally, published, clock.Elapsed);
    }

    private static Task PublishAsync(DaprClient dapr, BenchMessage message, CancellationToken cancellationToken) =>
        dapr.PublishEventAsync("pubsub", RuntimeBenchApp.Topic, message, new Dictionary<string, string> { ["partitionKey"] = message.Key }, cancellationToken);

    private static DeliveryFigures Figures(DeliveryTally tally, int published, TimeSpan elapsed)
    {
        var latencies = NewHistogram();
        foreach (var microseconds in tally.LatenciesMicroseconds)
        {
            latencies.RecordValue(microseconds);
        }

        return new DeliveryFigures(latencies, published, tally.Delivered, tally.Duplicates, tally.OutOfOrder, elapsed);
    }

    /// <summary>Each actor registers its share of one-shot reminders due now; the clock runs from the first registration to the last firing.</summary>
    private static async Task<(int Registered, int Fired, TimeSpan Registration, TimeSpan Elapsed)> MeasureRemindersAsync(
        AppDescriptor app, BenchProbe probe, Options options, CancellationToken cap)
    {
        var actors = Math.Max(1, Math.Min(options.Reminders, options.ReminderActors));
        var perActor = Math.Max(1, options.Reminders / actors);
        var proxies = new ActorProxyFactory(new ActorProxyOptions { HttpEndpoint = $"http://127.0.0.1:{app.HttpPort}" });
        var registered = 0;
        var registration = TimeSpan.Zero;
        var clock = Stopwatch.StartNew();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, actors), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = cap }, async (actor, token) =>
            {
                await proxies.CreateActorProxy<IBenchActor>(new ActorId($"reminder-{actor}"), nameof(BenchActor)).RemindAsync(perActor);
                Interlocked.Add(ref registered, perActor);
            });
            registration = clock.Elapsed;
            while (probe.RemindersFired < registered)
            {
                await Task.Delay(1, cap);
            }
        }
        catch (Exception ex) when (Capped(ex, cap))
        {
        }

        return (registered, probe.RemindersFired, registration, clock.Elapsed);
    }

    /// <summary>Schedules every workflow at once, then waits for each; the clock runs from the first schedule to the last completion.</summary>
    private static async Task<(int Scheduled, int Completed, TimeSpan Elapsed)> MeasureWorkflowsAsync(DaprWorkflowClient client, string workflow, int count, CancellationToken cap)
    {
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = 64, CancellationToken = cap };
        await Parallel.ForEachAsync(Enumerable.Range(0, 4), parallel, async (n, token) =>
            await client.WaitForWorkflowCompletionAsync(await client.ScheduleNewWorkflowAsync(workflow, $"{workflow}-warmup-{n}", n), false, token));

        var ids = new System.Collections.Concurrent.ConcurrentBag<string>();
        var completed = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, count), parallel, async (n, token) =>
                ids.Add(await client.ScheduleNewWorkflowAsync(workflow, $"{workflow}-{n}", n)));
            await Parallel.ForEachAsync(ids, parallel, async (id, token) =>
            {
                var state = await client.WaitForWorkflowCompletionAsync(id, false, token);
                if (state.RuntimeStatus == WorkflowRuntimeStatus.Completed)
                {
                    Interlocked.Increment(ref completed);
                }
            });
        }
        catch (Exception ex) when (Capped(ex, cap))
        {
        }

        return (ids.Count, completed, clock.Elapsed);
    }

    /// <summary>Schedule-to-completion of a three-activity workflow on an otherwise idle engine, one run at a time.</summary>
    private static async Task<LongHistogram> MeasureWorkflowLatencyAsync(DaprWorkflowClient client, int runs, CancellationToken cap)
    {
        var latencies = NewHistogram();
        try
        {
            for (var n = 0; n < runs; n++)
            {
                var clock = Stopwatch.StartNew();
                var id = await client.ScheduleNewWorkflowAsync(nameof(BenchThreeStepWorkflow), $"latency-{n}", n);
                var state = await client.WaitForWorkflowCompletionAsync(id, false, cap);
                if (state.RuntimeStatus == WorkflowRuntimeStatus.Completed)
                {
                    latencies.RecordValue(clock.Elapsed.Ticks / 10);
                }
            }
        }
        catch (Exception ex) when (Capped(ex, cap))
        {
        }

        return latencies;
    }

    /// <summary>The phase's time cap ran out (the run itself was not cancelled): report what was done.</summary>
    private static bool Capped(Exception ex, CancellationToken cap) =>
        cap.IsCancellationRequested && ex is OperationCanceledException or Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Cancelled } or Dapr.DaprException;

    private static LongHistogram NewHistogram() => new(TimeSpan.FromMinutes(1).Ticks / 10, 3);

    private static double Percentile(LongHistogram histogram, double percentile) =>
        histogram.TotalCount == 0 ? 0 : histogram.GetValueAtPercentile(percentile);

    private static double Ms(double microseconds) => Math.Round(microseconds / 1000.0, 3);

    private static double PerSecond(int count, TimeSpan elapsed) => elapsed <= TimeSpan.Zero ? 0 : Math.Round(count / elapsed.TotalSeconds, 1);
}
