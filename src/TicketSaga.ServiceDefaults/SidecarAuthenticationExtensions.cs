using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// The app's half of Dapr's app API token: the sidecar sends <c>APP_API_TOKEN</c> as the
/// <c>dapr-api-token</c> header (gRPC metadata) on every call it makes to the app, and the routes only
/// the sidecar calls (subscribers, gRPC services, actors) accept nothing else. <see cref="SidecarTokenHandler"/>
/// checks it in constant time (Dapr.AspNetCore's own handler compares with string equality).
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

        builder.Services.AddAuthentication().AddScheme<SidecarTokenOptions, SidecarTokenHandler>(SidecarTokenHandler.SchemeName, options => options.Token = token ?? "");
        builder.Services.AddAuthorization(options =>
        {
            if (string.IsNullOrEmpty(token))
            {
                options.AddPolicy(SidecarPolicy, policy => policy.RequireAssertion(_ => true));
            }
            else
            {
                options.AddPolicy(SidecarPolicy, policy => policy.AddAuthenticationSchemes(SidecarTokenHandler.SchemeName).RequireAuthenticatedUser());
            }
        });
        return builder;
    }

    /// <summary>Only the app's own sidecar (the app API token) may call these endpoints.</summary>
    public static TBuilder RequireSidecar<TBuilder>(this TBuilder endpoints)
        where TBuilder : IEndpointConventionBuilder =>
        endpoints.RequireAuthorization(SidecarPolicy);
}

public sealed class SidecarTokenOptions : AuthenticationSchemeOptions
{
    /// <summary>APP_API_TOKEN: what the sidecar presents as <c>dapr-api-token</c>.</summary>
    public string Token { get; set; } = "";
}

/// <summary>
/// The sidecar's <c>dapr-api-token</c>, compared as SHA-256 digests in constant time: neither how much of
/// a guess matched nor the token's length shows in the answer's timing.
/// </summary>
public sealed class SidecarTokenHandler(IOptionsMonitor<SidecarTokenOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<SidecarTokenOptions>(options, logger, encoder)
{
    public const string SchemeName = "Dapr";

    private const string TokenHeader = "dapr-api-token";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (!Request.Headers.TryGetValue(TokenHeader, out var presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var matches = presented.Count == 1 && Options.Token.Length > 0 && CryptographicOperations.FixedTimeEquals(
            SHA256.HashData(Encoding.UTF8.GetBytes(presented.ToString())), SHA256.HashData(Encoding.UTF8.GetBytes(Options.Token)));
        return Task.FromResult(matches
            ? AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(new ClaimsIdentity(SchemeName)), SchemeName))
            : AuthenticateResult.Fail("The dapr-api-token is not this app's."));
    }
}
