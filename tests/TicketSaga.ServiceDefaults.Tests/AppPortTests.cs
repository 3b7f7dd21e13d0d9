using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class AppPortTests
{
    [Theory]
    [InlineData(AppProtocol.Http)]
    [InlineData(AppProtocol.Grpc)]
    public async Task The_health_port_answers_only_health_checks_over_http1_and_the_app_port_only_on_loopback(AppProtocol protocol)
    {
        var (appPort, healthPort) = (FreePort(), FreePort());
        await using var app = Build(protocol, appPort, healthPort);
        app.MapGet("/orders", () => "app route");
        app.MapDefaultEndpoints();
        await app.StartAsync(TestContext.Current.CancellationToken);
        using var http1 = new HttpClient();

        Assert.Equal(HttpStatusCode.OK, (await http1.GetAsync($"http://127.0.0.1:{healthPort}/healthz", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http1.GetAsync($"http://127.0.0.1:{healthPort}/readyz", TestContext.Current.CancellationToken)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http1.GetAsync($"http://127.0.0.1:{healthPort}/orders", TestContext.Current.CancellationToken)).StatusCode);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.Contains($"http://127.0.0.1:{appPort}", addresses);
        Assert.DoesNotContain(addresses, address => address.EndsWith($":{appPort}", StringComparison.Ordinal) && !address.Contains("127.0.0.1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_app_port_serves_the_app_and_a_public_app_listens_on_every_interface()
    {
        var appPort = FreePort();
        await using var app = Build(AppProtocol.Http, appPort, healthPort: null, AppExposure.Public);
        app.MapGet("/orders", () => "app route");
        await app.StartAsync(TestContext.Current.CancellationToken);
        using var client = new HttpClient();

        Assert.Equal("app route", await client.GetStringAsync($"http://127.0.0.1:{appPort}/orders", TestContext.Current.CancellationToken));
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        Assert.DoesNotContain($"http://127.0.0.1:{appPort}", addresses);
    }

    [Theory]
    [InlineData(AppProtocol.Http)]
    [InlineData(AppProtocol.Grpc)]
    public async Task The_app_port_starts_without_a_warning_from_kestrel(AppProtocol protocol)
    {
        var warnings = new WarningCollector();
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.Configuration["APP_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.AddServiceDefaults();
        builder.UseAppPort(protocol);
        builder.Logging.AddProvider(warnings);
        await using var app = builder.Build();

        await app.StartAsync(TestContext.Current.CancellationToken);

        Assert.Empty(warnings.Messages);
    }

    [Fact]
    public void Outside_development_an_app_without_its_app_api_token_refuses_to_start()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Configuration["APP_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);

        var error = Assert.Throws<InvalidOperationException>(() => builder.UseAppPort(AppProtocol.Http));

        Assert.Contains("APP_API_TOKEN", error.Message, StringComparison.Ordinal);
    }

    private static WebApplication Build(AppProtocol protocol, int appPort, int? healthPort, AppExposure exposure = AppExposure.Sidecar)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Development });
        builder.Configuration["APP_PORT"] = appPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (healthPort is { } port)
        {
            builder.Configuration["HEALTH_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        builder.AddServiceDefaults();
        builder.UseAppPort(protocol, exposure);
        return builder.Build();
    }

    /// <summary>Kestrel's warnings and worse.</summary>
    private sealed class WarningCollector : ILoggerProvider, ILogger
    {
        public ConcurrentQueue<string> Messages { get; } = new();

        public ILogger CreateLogger(string categoryName) => categoryName.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) ? this : NullLogger.Instance;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Messages.Enqueue(formatter(state, exception));
            }
        }

        public void Dispose()
        {
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
