using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Api;

/// <summary>
/// daprd's API token check: with a Dapr API token configured, every call to the sidecar's HTTP and
/// gRPC APIs (invocation included) must carry it in <c>dapr-api-token</c>; only the health endpoints
/// stay open, as in daprd. An empty header (the SDK sends one when it has no token) counts as none.
/// </summary>
public static class DaprApiToken
{
    public static IApplicationBuilder UseDaprApiToken(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var expected = context.RequestServices.GetRequiredService<AppDescriptor>().DaprApiToken;
        if (expected is null || IsHealthPath(context.Request.Path) || Matches(context.Request.Headers[AppDescriptor.TokenHeader].ToString(), expected))
        {
            await next(context);
            return;
        }

        var message = context.Request.Headers[AppDescriptor.TokenHeader].ToString().Length == 0
            ? "missing api token in request"
            : "authentication error: api token mismatch";
        if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
        {
            // Trailers-only: the client sees StatusCode.Unauthenticated.
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = "application/grpc";
            context.Response.Headers["grpc-status"] = "16";
            context.Response.Headers["grpc-message"] = Uri.EscapeDataString(message);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        await context.Response.WriteAsJsonAsync(new DaprError("ERR_UNAUTHORIZED", message));
    });

    private static bool IsHealthPath(PathString path) =>
        path.Equals("/v1.0/healthz", StringComparison.Ordinal) || path.Equals("/v1.0/healthz/outbound", StringComparison.Ordinal);

    private static bool Matches(string presented, string expected) =>
        presented.Length > 0 && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(presented), Encoding.UTF8.GetBytes(expected));
}
