using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Gateway.Tests;

/// <summary>What a stand-in app received.</summary>
public sealed record ReceivedRequest(string Method, string Path, string Query, IReadOnlyDictionary<string, string> Headers, string Body)
{
    public string? Header(string name) => Headers.GetValueOrDefault(name.ToLowerInvariant());
}

/// <summary>
/// A small app on real Kestrel registered on the runtime under a real app id (order-service,
/// payment-service), answering everything under its path prefix with an echo and recording it.
/// POST /orders answers 201 with a new order id and a Location. Test headers steer it:
/// <c>X-Test-Status</c> (answer that status), <c>X-Test-Gate</c> (hold the answer until the test
/// opens that gate), <c>X-Test-Retry-After</c> (answer with that Retry-After), <c>X-Test-Abort</c> (drop the connection).
/// </summary>
public sealed class StandIn : IAsyncDisposable
{
    private readonly WebApplication _web;
    private readonly ConcurrentDictionary<string, Gate> _gates = new();
    private readonly ConcurrentQueue<ReceivedRequest> _received = new();
    private int _answered;

    private StandIn(WebApplication web, string appId)
    {
        _web = web;
        AppId = appId;
    }

    public string AppId { get; }

    public IReadOnlyList<ReceivedRequest> Received => [.. _received];

    public static async Task<StandIn> StartAsync(EmbeddedRuntime runtime, string appId, string prefix)
    {
        var app = new AppDescriptor(appId, PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, app.AppPort));
        var web = builder.Build();
        var standIn = new StandIn(web, appId);
        web.Map(prefix + "/{**rest}", standIn.AnswerAsync);
        await web.StartAsync();
        await runtime.AddSidecarAsync(app);
        return standIn;
    }

    public IReadOnlyList<ReceivedRequest> ReceivedFrom(string userId) =>
        [.. _received.Where(r => r.Header("X-User-Id") == userId)];

    public Gate GateFor(string name) => _gates.GetOrAdd(name, _ => new Gate());

    private async Task AnswerAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var request = new ReceivedRequest(
            context.Request.Method, context.Request.Path.Value ?? "", context.Request.QueryString.Value ?? "",
            context.Request.Headers.ToDictionary(h => h.Key.ToLowerInvariant(), h => h.Value.ToString()), body);
        _received.Enqueue(request);

        if (request.Header("X-Test-Abort") is not null)
        {
            context.Abort();
            return;
        }

        if (request.Header("X-Test-Gate") is { } gateName)
        {
            var gate = GateFor(gateName);
            gate.Arrived.TrySetResult();
            await gate.Opened.Task;
        }

        var creates = context.Request.Method == HttpMethods.Post && context.Request.Path == "/orders";
        context.Response.StatusCode = request.Header("X-Test-Status") is { } status ? int.Parse(status, System.Globalization.CultureInfo.InvariantCulture)
            : creates ? StatusCodes.Status201Created : StatusCodes.Status200OK;
        if (request.Header("X-Test-Retry-After") is { } retryAfter)
        {
            context.Response.Headers.RetryAfter = retryAfter;
        }

        var orderId = Guid.NewGuid();
        if (creates)
        {
            context.Response.Headers.Location = $"/orders/{orderId}";
        }

        await context.Response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["app_id"] = AppId,
            ["answer"] = Interlocked.Increment(ref _answered),
            ["order_id"] = orderId,
            ["method"] = request.Method,
            ["path"] = request.Path,
            ["query"] = request.Query,
            ["body"] = body,
        });
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var gate in _gates.Values)
        {
            gate.Opened.TrySetResult();
        }

        await _web.StopAsync();
        await _web.DisposeAsync();
    }

    public sealed class Gate
    {
        public TaskCompletionSource Arrived { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Opened { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
