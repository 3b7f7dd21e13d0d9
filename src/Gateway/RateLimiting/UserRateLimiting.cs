using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Gateway.RateLimiting;

/// <summary>Settings under <c>RateLimiting</c>: one token bucket per user (per client IP for anonymous callers).</summary>
public sealed class RateLimitOptions
{
    public const string SectionName = "RateLimiting";

    /// <summary>The burst a caller may send at once.</summary>
    public int TokenLimit { get; set; } = 60;

    public int TokensPerPeriod { get; set; } = 60;

    public TimeSpan ReplenishmentPeriod { get; set; } = TimeSpan.FromMinutes(1);
}

public static class UserRateLimiting
{
    public static IServiceCollection AddUserRateLimiting(this IServiceCollection services)
    {
        services.AddOptions<RateLimitOptions>()
            .BindConfiguration(RateLimitOptions.SectionName)
            .Validate(o => o.TokenLimit > 0, "RateLimiting:TokenLimit must be positive")
            .Validate(o => o.TokensPerPeriod > 0, "RateLimiting:TokensPerPeriod must be positive")
            .Validate(o => o.ReplenishmentPeriod > TimeSpan.Zero, "RateLimiting:ReplenishmentPeriod must be positive")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>, TimeProvider>((options, limits, clock) =>
        {
            // Runs after authentication, so a valid token's sub names the caller.
            options.GlobalLimiter = new CallerTokenBuckets(limits.Value, context => IsInfrastructure(context.Request.Path) ? null : PartitionKey(context), clock);
            options.OnRejected = async (rejected, _) =>
            {
                var context = rejected.HttpContext;
                var detail = "Too many requests; slow down.";
                if (rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    var seconds = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds));
                    context.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
                    detail = $"Too many requests; retry after {seconds} s.";
                }

                await GatewayProblems.WriteAsync(context, GatewayProblems.Create(
                    StatusCodes.Status429TooManyRequests, GatewayProblems.RateLimited, "Rate limit exceeded", detail));
            };
        });
        return services.AddRateLimiter(_ => { });
    }

    private static string PartitionKey(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true
            ? "user:" + context.User.UserId()
            : AnonymousKey(context.Connection.RemoteIpAddress);

    /// <summary>
    /// An anonymous caller's bucket: its IPv4 address, or the /64 of its IPv6 one, since one subscriber
    /// holds a whole /64 and could take a fresh bucket for each of its addresses.
    /// </summary>
    public static string AnonymousKey(IPAddress? address)
    {
        if (address is null)
        {
            return "ip:unknown";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return "ip:" + address.MapToIPv4();
        }

        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return "ip:" + address;
        }

        var bytes = address.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return "ip:" + new IPAddress(bytes) + "/64";
    }

    /// <summary>
    /// Health probes and the sidecar's own calls (GET /dapr/config, /dapr/subscribe) are not the public
    /// API; Stripe's webhook is signed and must never be throttled (a late settlement expires paid orders).
    /// Exact paths: anything below them is the public API and is limited like it.
    /// </summary>
    private static bool IsInfrastructure(PathString path) =>
        Array.Exists(InfrastructurePaths, exempt => path.Equals(exempt, StringComparison.OrdinalIgnoreCase));

    private static readonly PathString[] InfrastructurePaths = ["/healthz", "/readyz", "/dapr/config", "/dapr/subscribe", "/payments/webhook"];
}
