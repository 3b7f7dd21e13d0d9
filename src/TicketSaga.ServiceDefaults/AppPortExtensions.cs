using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;

namespace TicketSaga.ServiceDefaults;

public enum AppProtocol
{
    Http,
    Grpc,
}

public static class AppPortExtensions
{
    /// <summary>
    /// Listens on <c>APP_PORT</c>, the port `dapr run`, the embedded runner and the Helm chart give
    /// the app. A gRPC app speaks cleartext HTTP/2 there (Kestrel cannot detect h2c next to HTTP/1.1);
    /// its health is the gRPC health service. Without APP_PORT the usual ASP.NET URLs apply.
    /// </summary>
    public static WebApplicationBuilder UseAppPort(this WebApplicationBuilder builder, AppProtocol protocol)
    {
        if (int.TryParse(builder.Configuration["APP_PORT"], out var appPort))
        {
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(appPort, listen =>
                listen.Protocols = protocol == AppProtocol.Grpc ? HttpProtocols.Http2 : HttpProtocols.Http1AndHttp2));
        }

        return builder;
    }
}
