using System.Globalization;
using System.Threading.RateLimiting;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Gateway.RateLimiting;

/// <summary>Section <c>RateLimiting</c>: one token bucket per user (per client IP for anonymous callers).</summary>
public sealed record RateLimitSettings
{
    public const string Section = "RateLimiting";

    /// <summary>The burst a caller may send at once.</summary>
    public int TokenLimit { get; init; } = 60;

    public int TokensPerPeriod { get; init; } = 60;

    public TimeSpan ReplenishmentPeriod { get; init; } = TimeSpan.FromMinutes(1);
}

public static class UserRateLimiting
{
    public static IServiceCollection AddUserRateLimiting(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(RateLimitSettings.Section).Get<RateLimitSettings>() ?? new RateLimitSettings();
        var bucket = new TokenBucketRateLimiterOptions
        {
            TokenLimit = settings.TokenLimit,
            TokensPerPeriod = settings.TokensPerPeriod,
            ReplenishmentPeriod = settings.ReplenishmentPeriod,
            QueueLimit = 0,
            AutoReplenishment = true,
        };
        return services.AddRateLimiter(options =>
        {
            // Runs after authentication, so a valid token's sub names the partition.
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(context => IsInfrastructure(context.Request.Path)
                ? RateLimitPartition.GetNoLimiter("infrastructure")
                : RateLimitPartition.GetTokenBucketLimiter(PartitionKey(context), _ => bucket));
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
    }

    private static string PartitionKey(HttpContext context) =>
        context.User.Identity?.IsAuthenticated == true
            ? "user:" + context.User.UserId()
            : "ip:" + context.Connection.RemoteIpAddress;

    /// <summary>
    /// Health probes and the sidecar's own calls (GET /dapr/config, /dapr/subscribe) are not the public
    /// API; Stripe's webhook is signed and must never be throttled (a late settlement expires paid orders).
    /// </summary>
    private static bool IsInfrastructure(PathString path) =>
        path.StartsWithSegments("/healthz") || path.StartsWithSegments("/readyz") || path.StartsWithSegments("/dapr")
        || path.StartsWithSegments("/payments/webhook");
}
