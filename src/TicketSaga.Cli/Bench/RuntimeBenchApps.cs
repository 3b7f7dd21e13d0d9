using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Dapr;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Dapr.Workflow;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TicketSaga.Cli.Bench.Echo;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Cli.Bench;

/// <summary>
/// The small apps the runtime benchmark drives, written only against the Dapr SDK and ASP.NET Core,
/// each on real Kestrel beside its sidecar with the ports `dapr run` would give it.
/// </summary>
internal sealed class RuntimeBenchApp : IAsyncDisposable
{
    public const string Topic = "bench.messages";

    private readonly WebApplication _web;

    private RuntimeBenchApp(WebApplication web, AppDescriptor app)
    {
        _web = web;
        App = app;
    }

    public AppDescriptor App { get; }

    public IServiceProvider Services => _web.Services;

    /// <summary>A gRPC app (h2c) serving <see cref="BenchEchoService"/>.</summary>
    public static Task<RuntimeBenchApp> StartEchoAsync(AppDescriptor app) => StartAsync(app, HttpProtocols.Http2,
        services => services.AddGrpc(),
        web => web.MapGrpcService<BenchEchoService>());

    /// <summary>An HTTP app with a Dapr.AspNetCore subscriber, an actor with a reminder and a workflow with an activity.</summary>
    public static Task<RuntimeBenchApp> StartDaprAppAsync(AppDescriptor app, BenchProbe probe) => StartAsync(app, HttpProtocols.Http1AndHttp2,
        services =>
        {
            services.AddSingleton(probe);
            services.AddDaprClient();
            services.AddActors(options => options.Actors.RegisterActor<BenchActor>());
            services.AddDaprWorkflow(options =>
            {
                options.RegisterWorkflow<BenchWorkflow>();
                options.RegisterWorkflow<BenchChainWorkflow>();
                options.RegisterWorkflow<BenchFanOutWorkflow>();
                options.RegisterWorkflow<BenchThreeStepWorkflow>();
                options.RegisterActivity<BenchActivity>();
            });
        },
        web =>
        {
            web.UseCloudEvents();
            web.MapSubscribeHandler();
            web.MapPost("/bench/messages", (BenchMessage message, BenchProbe probe) =>
            {
                probe.Delivered(message);
                return Results.Ok();
            }).WithTopic("pubsub", Topic);
            web.MapActorsHandlers();
        });

    private static async Task<RuntimeBenchApp> StartAsync(
        AppDescriptor app, HttpProtocols protocols, Action<IServiceCollection> services, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(app.AppEnvironment.Select(e => new KeyValuePair<string, string?>(e.Key, e.Value)));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, app.AppPort, listen => listen.Protocols = protocols));
        services(builder.Services);
        var web = builder.Build();
        map(web);
        await web.StartAsync();
        return new RuntimeBenchApp(web, app);
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
    }
}

internal sealed class BenchEchoService : BenchEcho.BenchEchoBase
{
    public override Task<EchoMessage> Echo(EchoMessage request, ServerCallContext context) => Task.FromResult(request);
}

/// <summary>A published message: which phase, its partition key, its number within the key, and when it was published.</summary>
internal sealed record BenchMessage(string Phase, string Key, int N, long PublishedAt);

public interface IBenchActor : IActor
{
    Task RemindAsync(int reminders);
}

/// <summary>Registers one-shot reminders due now; each firing is reported to the probe.</summary>
public sealed class BenchActor(ActorHost host, BenchProbe probe) : Actor(host), IBenchActor, IRemindable
{
    public async Task RemindAsync(int reminders)
    {
        for (var i = 0; i < reminders; i++)
        {
            await RegisterReminderAsync($"due-now-{i}", null, TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        }
    }

    public Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        probe.ReminderFired(Id.GetId(), reminderName);
        return Task.CompletedTask;
    }
}

/// <summary>One activity, then done: the smallest workflow that round-trips through the engine twice.</summary>
public sealed class BenchWorkflow : Workflow<int, int>
{
    public override Task<int> RunAsync(WorkflowContext context, int input) => context.CallActivityAsync<int>(nameof(BenchActivity), input);
}

/// <summary>Five activities one after another (Dapr's performance suite's sequential chain): six episodes.</summary>
public sealed class BenchChainWorkflow : Workflow<int, int>
{
    public const int Activities = 5;

    public override async Task<int> RunAsync(WorkflowContext context, int input)
    {
        for (var i = 0; i < Activities; i++)
        {
            input = await context.CallActivityAsync<int>(nameof(BenchActivity), input);
        }

        return input;
    }
}

/// <summary>Five activities at once, then their sum (Dapr's performance suite's parallel fan-out/fan-in).</summary>
public sealed class BenchFanOutWorkflow : Workflow<int, int>
{
    public const int Activities = 5;

    public override async Task<int> RunAsync(WorkflowContext context, int input) =>
        (await Task.WhenAll(Enumerable.Range(input, Activities).Select(n => context.CallActivityAsync<int>(nameof(BenchActivity), n)))).Sum();
}

/// <summary>Three activities one after another: the workflow whose start-to-end latency is measured.</summary>
public sealed class BenchThreeStepWorkflow : Workflow<int, int>
{
    public override async Task<int> RunAsync(WorkflowContext context, int input)
    {
        for (var i = 0; i < 3; i++)
        {
            input = await context.CallActivityAsync<int>(nameof(BenchActivity), input);
        }

        return input;
    }
}

public sealed class BenchActivity : WorkflowActivity<int, int>
{
    public override Task<int> RunAsync(WorkflowActivityContext context, int input) => Task.FromResult(input + 1);
}

/// <summary>What the bench apps saw arrive, per phase: deliveries (first arrival of each message) and reminder firings.</summary>
public sealed class BenchProbe
{
    private readonly ConcurrentDictionary<string, DeliveryTally> _phases = new();
    private readonly ConcurrentDictionary<(string Actor, string Reminder), byte> _fired = new();

    public int RemindersFired => _fired.Count;

    internal DeliveryTally StartPhase(string phase, int expected) => _phases[phase] = new DeliveryTally(expected);

    internal void Delivered(BenchMessage message)
    {
        var elapsed = Stopwatch.GetElapsedTime(message.PublishedAt);
        _phases.GetValueOrDefault(message.Phase)?.Record(message, elapsed);
    }

    internal void ReminderFired(string actorId, string reminder) => _fired.TryAdd((actorId, reminder), 0);
}

/// <summary>One phase's deliveries: latency of each message's first arrival, duplicates, and order per key.</summary>
internal sealed class DeliveryTally(int expected)
{
    private readonly Lock _gate = new();
    private readonly HashSet<(string Key, int N)> _seen = [];
    private readonly Dictionary<string, int> _nextPerKey = [];
    private readonly List<long> _latenciesMicroseconds = [];
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource<BenchMessage> _next = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public int Delivered { get; private set; }

    public int Duplicates { get; private set; }

    /// <summary>Arrivals of a key's message before an earlier one of the same key.</summary>
    public int OutOfOrder { get; private set; }

    public Task AllDelivered => _all.Task;

    public Task<BenchMessage> NextDelivery
    {
        get
        {
            lock (_gate)
            {
                return _next.Task;
            }
        }
    }

    public IReadOnlyList<long> LatenciesMicroseconds
    {
        get
        {
            lock (_gate)
            {
                return [.. _latenciesMicroseconds];
            }
        }
    }

    public void Record(BenchMessage message, TimeSpan latency)
    {
        TaskCompletionSource<BenchMessage> arrived;
        bool all;
        lock (_gate)
        {
            if (!_seen.Add((message.Key, message.N)))
            {
                Duplicates++;
                return;
            }

            var next = _nextPerKey.GetValueOrDefault(message.Key);
            OutOfOrder += message.N == next ? 0 : 1;
            _nextPerKey[message.Key] = Math.Max(next, message.N + 1);
            _latenciesMicroseconds.Add((long)latency.TotalMicroseconds);
            Delivered++;
            all = Delivered >= expected;
            arrived = _next;
            _next = new TaskCompletionSource<BenchMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        arrived.TrySetResult(message);
        if (all)
        {
            _all.TrySetResult();
        }
    }
}
