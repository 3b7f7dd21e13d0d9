using Microsoft.AspNetCore.Http.Features;

namespace TicketSaga.Gateway.Proxy;

/// <summary>
/// A proxied request's body is read whole before it takes one of the few connections to the sidecar: the
/// proxy would otherwise stream it as it arrives, and a client sending a body a few bytes a second
/// (anonymously, to the webhook) would hold that connection for minutes, so that a few dozen of them starve
/// every payment call. A body slower than Kestrel's minimum data rate ends in 408 here.
/// </summary>
public static class WholeBodies
{
    public static async Task ReadWholeBodyAsync(HttpContext context, Func<Task> next)
    {
        // Kestrel's own answer to "is there a body" (a Content-Length above zero, or chunked), not a guess from headers.
        if (context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true)
        {
            var request = context.Request;
            request.EnableBuffering();
            await request.Body.CopyToAsync(Stream.Null, context.RequestAborted);
            request.Body.Position = 0;
        }

        await next();
    }
}
