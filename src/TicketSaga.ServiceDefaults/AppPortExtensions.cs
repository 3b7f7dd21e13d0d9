using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.ServiceDefaults;

public enum AppProtocol
{
    Http,
    Grpc,
}

/// <summary>Who the app port is for.</summary>
public enum AppExposure
{
    /// <summary>Only the app's sidecar, beside it (same host, same pod): loopback.</summary>
    Sidecar,

    /// <summary>Outside traffic too (the gateway behind an ingress): every interface.</summary>
    Public,
}

public static class AppPortExtensions
{
    private static readonly string[] HealthPaths = ["/healthz", "/readyz"];

    /// <summary>
    /// How the app is reached: on <c>APP_PORT</c> (what `dapr run`, the runner and the chart give it),
    /// bound to loopback unless it is <see cref="AppExposure.Public"/> or <c>APP_LISTEN_ADDRESS</c> names
    /// another address; with <c>HEALTH_PORT</c>, a listener on every interface that serves only the
    /// health checks over HTTP/1.1, for every app alike (the kubelet probes the pod's address, not
    /// loopback, with httpGet). A gRPC app speaks cleartext HTTP/2 on its app port (Kestrel cannot
    /// detect h2c next to HTTP/1.1), where its sidecar asks the gRPC health service. Also requires the sidecar's app API token (<see cref="SidecarAuthenticationExtensions"/>).
    /// Without APP_PORT the usual ASP.NET URLs apply.
    /// </summary>
    public static WebApplicationBuilder UseAppPort(this WebApplicationBuilder builder, AppProtocol protocol, AppExposure exposure = AppExposure.Sidecar)
    {
        // Cleartext either way: HTTP/2 for a gRPC app, HTTP/1.1 for an HTTP app (Http1AndHttp2 without TLS is HTTP/1.1, with a warning at every start).
        var protocols = protocol == AppProtocol.Grpc ? HttpProtocols.Http2 : HttpProtocols.Http1;
        var healthPort = Port(builder.Configuration, "HEALTH_PORT");
        if (Port(builder.Configuration, "APP_PORT") is { } appPort)
        {
            var address = ListenAddress(builder.Configuration["APP_LISTEN_ADDRESS"], exposure);
            builder.WebHost.ConfigureKestrel(kestrel =>
            {
                if (address is null)
                {
                    kestrel.ListenAnyIP(appPort, listen => listen.Protocols = protocols);
                }
                else
                {
                    kestrel.Listen(address, appPort, listen => listen.Protocols = protocols);
                }

                if (healthPort is { } port)
                {
                    kestrel.ListenAnyIP(port, listen => listen.Protocols = HttpProtocols.Http1);
                }
            });
        }

        if (healthPort is { } only)
        {
            builder.Services.AddTransient<IStartupFilter>(_ => new HealthOnlyPort(only));
        }

        builder.AddSidecarAuthentication();
        return builder;
    }

    /// <summary>The configured address; null for every interface.</summary>
    private static IPAddress? ListenAddress(string? configured, AppExposure exposure)
    {
        if (string.IsNullOrWhiteSpace(configured))
        {
            return exposure == AppExposure.Public ? null : IPAddress.Loopback;
        }

        return IPAddress.TryParse(configured, out var address)
            ? address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any) ? null : address
            : throw new InvalidOperationException($"APP_LISTEN_ADDRESS '{configured}' is not an IP address (e.g. 127.0.0.1, or 0.0.0.0 for every interface).");
    }

    private static int? Port(ConfigurationManager configuration, string key) =>
        configuration[key] is not { Length: > 0 } text ? null
        : int.TryParse(text, out var port) && port is > 0 and <= 65535 ? port
        : throw new InvalidOperationException($"{key} '{text}' is not a port number.");

    /// <summary>Answers 404 on the health port for everything but the health checks.</summary>
    private sealed class HealthOnlyPort(int port) : IStartupFilter
    {
        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Connection.LocalPort == port && !HealthPaths.Any(path => context.Request.Path.StartsWithSegments(path)))
                {
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                    return Task.CompletedTask;
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
