using System.Net;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Tests;

/// <summary>A small app on a real Kestrel port, as a service would run next to its sidecar.</summary>
public sealed class TestApp : IAsyncDisposable
{
    private readonly WebApplication _web;

    private TestApp(WebApplication web) => _web = web;

    public static async Task<TestApp> StartAsync(int port, Action<WebApplication> map, AppChannelProtocol protocol = AppChannelProtocol.Http, Action<IServiceCollection>? services = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port,
            listen => listen.Protocols = protocol == AppChannelProtocol.Grpc ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2));
        services?.Invoke(builder.Services);
        var web = builder.Build();
        map(web);
        await web.StartAsync();
        return new TestApp(web);
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
    }
}

public static class TestSupport
{
    /// <summary>A DaprClient configured the way DAPR_HTTP_PORT / DAPR_GRPC_PORT would configure it for this app.</summary>
    public static DaprClient CreateDaprClient(this Sidecar sidecar) => new DaprClientBuilder()
        .UseHttpEndpoint($"http://127.0.0.1:{sidecar.App.HttpPort}")
        .UseGrpcEndpoint($"http://127.0.0.1:{sidecar.App.GrpcPort}")
        .Build();

    public static string GrpcEndpoint(this Sidecar sidecar) => $"http://127.0.0.1:{sidecar.App.GrpcPort}";

    /// <summary>Waits until <paramref name="condition"/> holds (a generous bound, not a timing assertion).</summary>
    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(20);
        }
    }

    public static Task EventuallyAsync(Func<bool> condition, string what, int seconds = 30) =>
        EventuallyAsync(() => Task.FromResult(condition()), what, seconds);
}
