using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// The app's half of Dapr's app API token: the sidecar sends <c>APP_API_TOKEN</c> as the
/// <c>dapr-api-token</c> header (gRPC metadata) on every call it makes to the app, and the routes only
/// the sidecar calls (subscribers, gRPC services, actors) accept nothing else. Dapr.AspNetCore's
/// scheme and policy check it.
/// </summary>
public static class SidecarAuthenticationExtensions
{
    /// <summary>The authorization policy of the routes only the sidecar calls.</summary>
    public const string SidecarPolicy = "Dapr";

    /// <summary>
    /// Requires the app API token on <see cref="SidecarPolicy"/> routes. Without APP_API_TOKEN the app
    /// refuses to start, except in Development, where those routes stay open (tests and a debugger
    /// without a sidecar).
    /// </summary>
    public static IHostApplicationBuilder AddSidecarAuthentication(this IHostApplicationBuilder builder)
    {
        var token = builder.Configuration["APP_API_TOKEN"];
        if (string.IsNullOrEmpty(token) && !builder.Environment.IsDevelopment())
        {
            throw new InvalidOperationException(
                $"APP_API_TOKEN is not set: outside Development ({builder.Environment.EnvironmentName} here) the app accepts calls only from its "
                + "sidecar, which proves itself with that token. `ticketsaga run`/`up` set it; with daprd set APP_API_TOKEN for both "
                + "(Kubernetes: the dapr.io/app-token-secret annotation).");
        }

        builder.Services.AddAuthentication().AddDapr(options => options.Token = token);
        builder.Services.AddAuthorization(options =>
        {
            if (string.IsNullOrEmpty(token))
            {
                options.AddPolicy(SidecarPolicy, policy => policy.RequireAssertion(_ => true));
            }
            else
            {
                options.AddDapr(SidecarPolicy);
            }
        });
        return builder;
    }

    /// <summary>Only the app's own sidecar (the app API token) may call these endpoints.</summary>
    public static TBuilder RequireSidecar<TBuilder>(this TBuilder endpoints)
        where TBuilder : IEndpointConventionBuilder =>
        endpoints.RequireAuthorization(SidecarPolicy);
}
