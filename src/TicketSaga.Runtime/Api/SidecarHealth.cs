using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Api;

/// <summary>
/// daprd's readiness (pkg/runtime/runtime.go, <c>blockUntilAppIsReady</c>): a sidecar with an app port is ready once
/// the app has accepted a TCP connection on it, and stays ready; one without an app port is ready at once. daprd dials
/// every 100 ms; here each health check dials while not ready, so a check right after the app listens already sees it.
/// </summary>
public sealed class SidecarHealth(AppDescriptor app)
{
    private static readonly TimeSpan DialTimeout = TimeSpan.FromMilliseconds(500);

    private volatile bool _ready = !app.HasAppChannel;

    public async Task<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        if (_ready)
        {
            return true;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(DialTimeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(app.AppAddress.Host, app.AppPort, timeout.Token);
            _ready = true;
        }
        catch (Exception ex) when (ex is SocketException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
        }

        return _ready;
    }
}

public static class SidecarHealthApi
{
    /// <summary>
    /// daprd's <c>/v1.0/healthz</c> (pkg/api/http/healthz.go): 500 <c>ERR_HEALTH_NOT_READY</c> until the sidecar is ready,
    /// 500 <c>ERR_HEALTH_APPID_NOT_MATCH</c> for <c>?appid=</c> another app, else 204. <c>/v1.0/healthz/outbound</c> is
    /// ready once the components are loaded, which here is before the sidecar serves: always 204.
    /// </summary>
    public static WebApplication MapHealthApi(this WebApplication web)
    {
        web.MapGet("/v1.0/healthz", async (HttpRequest request, AppDescriptor app, SidecarHealth health, CancellationToken cancellationToken) =>
            !await health.IsReadyAsync(cancellationToken) ? Results.Json(new DaprError("ERR_HEALTH_NOT_READY", "dapr is not ready: [runtime]"), statusCode: StatusCodes.Status500InternalServerError)
            : request.Query.TryGetValue("appid", out var appId) && appId != app.AppId
                ? Results.Json(new DaprError("ERR_HEALTH_APPID_NOT_MATCH", "dapr app-id does not match"), statusCode: StatusCodes.Status500InternalServerError)
            : Results.NoContent());
        web.MapGet("/v1.0/healthz/outbound", () => Results.NoContent());
        return web;
    }
}
