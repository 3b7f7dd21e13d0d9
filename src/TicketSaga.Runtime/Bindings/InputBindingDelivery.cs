using System.Globalization;
using System.Text.Json;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Api;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Invocation;

namespace TicketSaga.Runtime.Bindings;

/// <summary>
/// The input bindings of one app, as daprd's binding processor runs them once the app listens: each input binding
/// component visible to the app (scopes) and of the input direction is delivered when its <c>direction</c> names
/// input, or else when the app asks for it (HTTP: <c>OPTIONS /&lt;route&gt;</c> answers 2xx or 405; gRPC:
/// <c>AppCallback.ListInputBindings</c> lists it). Each cron firing is a <c>POST /&lt;route&gt;</c> with an empty JSON
/// body and the <c>timeZone</c> and <c>readTimeUTC</c> metadata as headers (gRPC: <c>OnBindingEvent</c>), each on its
/// own, as robfig/cron runs jobs; a failed delivery is logged at Debug and not retried, as daprd's cron binding
/// ignores its handler's error. A gRPC app's answer <c>to</c> sends its data to those output bindings (operation
/// <c>create</c>), in order or, with <c>PARALLEL</c>, at once.
/// </summary>
internal sealed partial class InputBindingDelivery(
    AppDescriptor app,
    RuntimeResources resources,
    SidecarHealth health,
    GrpcAppChannel grpcApp,
    OutputBindings outputs,
    ILogger<InputBindingDelivery> logger) : BackgroundService
{
    private static readonly TimeSpan ReadinessPoll = TimeSpan.FromMilliseconds(100);

    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private IReadOnlyList<string>? _grpcBindings;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var inputs = resources.ComponentsFor(app.AppId)
            .Where(c => BindingComponents.InputTypes.Contains(c.Type, StringComparer.Ordinal) && c.IsOfDirection("input"))
            .ToList();
        if (!app.HasAppChannel || inputs.Count == 0)
        {
            return;
        }

        // daprd reads input bindings only once the app listens on its port.
        while (!await health.IsReadyAsync(stoppingToken))
        {
            await Task.Delay(ReadinessPoll, stoppingToken);
        }

        var running = new List<Task>();
        foreach (var input in inputs)
        {
            if (input.IsExplicitlyInput() || await IsSubscribedAsync(input, stoppingToken))
            {
                LogReading(logger, app.AppId, input.Name, input.InputRoute());
                running.Add(RunCronAsync(input, CronSchedule.Parse(input.MetadataValue("schedule") ?? ""), stoppingToken));
            }
            else
            {
                LogNotSubscribed(logger, app.AppId, input.Name);
            }
        }

        await Task.WhenAll(running);
    }

    private async Task RunCronAsync(ComponentDefinition input, CronSchedule schedule, CancellationToken stoppingToken)
    {
        var last = DateTimeOffset.UtcNow;
        while (schedule.Next(Max(last, DateTimeOffset.UtcNow)) is { } next)
        {
            var wait = next - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, stoppingToken);
            }

            last = next;
            var metadata = new Dictionary<string, string>
            {
                // What dapr's cron binding reports: its cron's location (Go's time.Local prints "Local") and Go's
                // time.Time.String() of the firing in UTC.
                ["timeZone"] = "Local",
                ["readTimeUTC"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF '+0000 UTC'", CultureInfo.InvariantCulture),
            };
            _ = DeliverAsync(input, metadata, stoppingToken);
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private async Task DeliverAsync(ComponentDefinition input, Dictionary<string, string> metadata, CancellationToken stoppingToken)
    {
        try
        {
            if (app.Protocol == AppChannelProtocol.Grpc)
            {
                await DeliverGrpcAsync(input, metadata, stoppingToken);
            }
            else
            {
                await DeliverHttpAsync(input, metadata, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        catch (Exception ex) when (ex is HttpRequestException or RpcException)
        {
            LogDeliveryFailed(logger, input.Name, $"error invoking app: {ex.Message}");
        }
    }

    private async Task DeliverHttpAsync(ComponentDefinition input, Dictionary<string, string> metadata, CancellationToken stoppingToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.AppAddress, "/" + input.InputRoute().TrimStart('/')))
        {
            Content = new ByteArrayContent([]) { Headers = { ContentType = new("application/json") } },
        };
        foreach (var (key, value) in metadata)
        {
            request.Headers.TryAddWithoutValidation(key, value);
        }

        app.Authenticate(request);
        using var response = await _http.SendAsync(request, stoppingToken);
        if ((int)response.StatusCode is < 200 or > 299)
        {
            LogDeliveryFailed(logger, input.Name,
                $"fails to send binding event to http app channel, status code: {(int)response.StatusCode} body: {await response.Content.ReadAsStringAsync(stoppingToken)}");
        }
    }

    private async Task DeliverGrpcAsync(ComponentDefinition input, Dictionary<string, string> metadata, CancellationToken stoppingToken)
    {
        var request = new BindingEventRequest { Name = input.Name };
        request.Metadata.Add(metadata);
        var response = await grpcApp.For(app).OnBindingEventAsync(request, GrpcAppChannel.Options(app, null, stoppingToken));
        if (response.To.Count == 0)
        {
            return;
        }

        var data = IsJson(response.Data) ? response.Data.ToByteArray() : "null"u8.ToArray();
        var sends = response.To.Select(name => (Func<Task>)(() => SendToOutputAsync(name, data, stoppingToken)));
        if (response.Concurrency == BindingEventResponse.Types.BindingEventConcurrency.Parallel)
        {
            await Task.WhenAll(sends.Select(send => send()));
            return;
        }

        foreach (var send in sends)
        {
            await send();
        }
    }

    private async Task SendToOutputAsync(string name, byte[] data, CancellationToken stoppingToken)
    {
        try
        {
            await outputs.InvokeAsync(name, new BindingRequest("create", data, new Dictionary<string, string>()), stoppingToken);
        }
        catch (BindingInvocationException ex)
        {
            LogOutputFailed(logger, app.AppId, name, ex.Message);
        }
    }

    private static bool IsJson(ByteString data)
    {
        if (data.IsEmpty)
        {
            return false;
        }

        try
        {
            using var _ = JsonDocument.Parse(data.Memory);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private async Task<bool> IsSubscribedAsync(ComponentDefinition input, CancellationToken stoppingToken)
    {
        if (app.Protocol == AppChannelProtocol.Grpc)
        {
            _grpcBindings ??= await ListGrpcBindingsAsync(stoppingToken);
            return _grpcBindings.Contains(input.Name, StringComparer.Ordinal);
        }

        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Options, new Uri(app.AppAddress, "/" + input.InputRoute().TrimStart('/')))
            {
                Content = new ByteArrayContent([]) { Headers = { ContentType = new("application/json") } },
            };
            app.Authenticate(request);
            using var response = await _http.SendAsync(request, stoppingToken);
            var status = (int)response.StatusCode;
            return status / 100 == 2 || status == 405;
        }
        catch (HttpRequestException ex)
        {
            LogProbeFailed(logger, app.AppId, input.Name, ex.Message);
            return false;
        }
    }

    /// <summary>daprd asks once; an app that does not implement it lists none.</summary>
    private async Task<IReadOnlyList<string>> ListGrpcBindingsAsync(CancellationToken stoppingToken)
    {
        try
        {
            var response = await grpcApp.For(app).ListInputBindingsAsync(new Empty(), GrpcAppChannel.Options(app, null, stoppingToken));
            return [.. response.Bindings];
        }
        catch (RpcException)
        {
            return [];
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "App {AppId} reads input binding {Binding} on {Route}")]
    private static partial void LogReading(ILogger logger, string appId, string binding, string route);

    [LoggerMessage(Level = LogLevel.Information, Message = "App {AppId} has not subscribed to binding {Binding}")]
    private static partial void LogNotSubscribed(ILogger logger, string appId, string binding);

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId} could not be asked whether it reads binding {Binding}: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string appId, string binding, string error);

    // daprd's wording and level (processor/binding/input): the cron binding drops the error.
    [LoggerMessage(Level = LogLevel.Debug, Message = "error from app consumer for binding [{Binding}]: {Error}")]
    private static partial void LogDeliveryFailed(ILogger logger, string binding, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId}'s answer to an input binding event could not be sent to output binding {Binding}: {Error}")]
    private static partial void LogOutputFailed(ILogger logger, string appId, string binding, string error);
}
