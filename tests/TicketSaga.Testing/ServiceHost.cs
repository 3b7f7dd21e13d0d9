using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Testing;

/// <summary>
/// A service's real <c>Program</c> on real Kestrel with its own sidecar on an embedded runtime, given
/// exactly what `dapr run` gives an app (APP_PORT, DAPR_HTTP_PORT, DAPR_GRPC_PORT, ...) through
/// configuration, so several services can share one test process.
/// </summary>
public sealed class ServiceHost<TProgram> : WebApplicationFactory<TProgram>
    where TProgram : class
{
    private readonly IReadOnlyDictionary<string, string?> _settings;

    internal ServiceHost(AppDescriptor app, Sidecar sidecar, IReadOnlyDictionary<string, string?> settings)
    {
        App = app;
        Sidecar = sidecar;
        _settings = settings;
    }

    public AppDescriptor App { get; }

    /// <summary>The configuration the service was started with (a restart gives it the same).</summary>
    public IReadOnlyDictionary<string, string?> Settings => _settings;

    public Sidecar Sidecar { get; }

    /// <summary>The service's own address (what the sidecar calls).</summary>
    public Uri Address => App.AppAddress;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in App.AppEnvironment)
        {
            builder.UseSetting(key, value);
        }

        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }
}

public static class ServiceHost
{
    /// <param name="settings">Configuration for the service, e.g. ConnectionStrings:Postgres, Auth:SigningKey.</param>
    /// <param name="withTokens">
    /// As the runner does: a fresh app API token for this app and the sidecar's Dapr API token
    /// (<see cref="SidecarTokens"/>); without them the service runs as in Development without a sidecar token.
    /// </param>
    public static async Task<ServiceHost<TProgram>> StartAsync<TProgram>(
        EmbeddedRuntime runtime, string appId, AppChannelProtocol protocol, IReadOnlyDictionary<string, string?> settings, bool withTokens = false)
        where TProgram : class
    {
        var app = new AppDescriptor(appId, PortAllocator.FreePort(), protocol, PortAllocator.FreePort(), PortAllocator.FreePort());
        if (withTokens)
        {
            app = app.WithNewTokens() with { DaprApiToken = SidecarTokens.DaprApiToken };
        }

        var sidecar = await runtime.AddSidecarAsync(app);
        var host = new ServiceHost<TProgram>(app, sidecar, settings);
        host.UseKestrel();
        host.StartServer();
        return host;
    }

    /// <summary>
    /// Starts the service again after <paramref name="stopped"/> was disposed: same app id, port, settings
    /// and sidecar, as when an app's process restarts under a sidecar that stays up (the runtime keeps
    /// one app per app id, so the sidecar is reused rather than added again).
    /// </summary>
    public static ServiceHost<TProgram> Restart<TProgram>(ServiceHost<TProgram> stopped)
        where TProgram : class
    {
        var host = new ServiceHost<TProgram>(stopped.App, stopped.Sidecar, stopped.Settings);
        host.UseKestrel();
        host.StartServer();
        return host;
    }
}
