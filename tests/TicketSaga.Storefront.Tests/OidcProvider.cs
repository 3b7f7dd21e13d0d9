using System.Net;
using System.Security.Claims;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using Microsoft.AspNetCore;
using TicketSaga.Runtime.Hosting;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace TicketSaga.Storefront.Tests;

/// <summary>
/// A real OpenID Connect provider (OpenIddict's server) on loopback, standing in for the Keycloak or Auth0
/// a deployment names in <c>Auth:Authority</c>: discovery, JWKS, an authorization endpoint with a sign-in
/// form, and a token endpoint that checks PKCE. It knows one public client and issues RS256 access tokens
/// for the API's audience; the storefront's origin may call it from the browser (CORS), as a real
/// provider's SPA client settings allow.
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    private readonly WebApplication _app;

    private OidcProvider(WebApplication app, Uri issuer)
    {
        _app = app;
        Issuer = issuer;
    }

    /// <summary>What services put in <c>Auth:Authority</c>; also the tokens' <c>iss</c>.</summary>
    public Uri Issuer { get; }

    /// <param name="clientId">The storefront's client id (<c>Storefront:OidcClientId</c>).</param>
    /// <param name="audience">The API's audience (<c>Auth:Audience</c>) the access tokens are for.</param>
    /// <param name="storefront">The storefront's origin: its root is the only redirect URI, and its scripts may call the provider.</param>
    public static async Task<OidcProvider> StartAsync(string clientId, string audience, Func<Uri> storefront)
    {
        var issuer = new Uri($"http://127.0.0.1:{PortAllocator.FreePort()}/");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(issuer.ToString());
        builder.Logging.AddFilter("OpenIddict", LogLevel.Warning).AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.AddCors(cors => cors.AddDefaultPolicy(policy => policy
            .SetIsOriginAllowed(origin => origin == storefront().GetLeftPart(UriPartial.Authority))
            .AllowAnyHeader()
            .AllowAnyMethod()));
        builder.Services.AddAuthentication();
        builder.Services.AddOpenIddict().AddServer(server =>
        {
            server.SetIssuer(issuer)
                .SetAuthorizationEndpointUris("connect/authorize")
                .SetTokenEndpointUris("connect/token")
                .AllowAuthorizationCodeFlow()
                .RequireProofKeyForCodeExchange()
                .RegisterScopes(Scopes.OpenId, Scopes.Profile)
                .AddEphemeralEncryptionKey()
                .AddEphemeralSigningKey()
                .DisableAccessTokenEncryption()
                // No client or token store: the one client is checked by the handlers below.
                .EnableDegradedMode();
            server.UseAspNetCore()
                .EnableAuthorizationEndpointPassthrough()
                .DisableTransportSecurityRequirement();
            server.AddEventHandler<OpenIddictServerEvents.ValidateAuthorizationRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != clientId)
                {
                    context.Reject(Errors.InvalidClient, "Unknown client.");
                }
                else if (context.RedirectUri != RedirectUri(storefront()))
                {
                    context.Reject(Errors.InvalidRequest, "The redirect_uri is not registered for this client.");
                }

                return default;
            }));
            server.AddEventHandler<OpenIddictServerEvents.ValidateTokenRequestContext>(handler => handler.UseInlineHandler(context =>
            {
                if (context.ClientId != clientId)
                {
                    context.Reject(Errors.InvalidClient, "Unknown client.");
                }

                return default;
            }));
        });

        var app = builder.Build();
        app.UseCors();
        app.UseAuthentication();
        app.MapGet("/connect/authorize", (HttpContext http) => Authorize(http, audience));
        await app.StartAsync();
        return new OidcProvider(app, issuer);
    }

    public static string RedirectUri(Uri storefront) => storefront.GetLeftPart(UriPartial.Authority) + "/";

    /// <summary>The provider's sign-in page; submitted (it carries the request's parameters along), it signs the user in or, cancelled, denies access.</summary>
    private static IResult Authorize(HttpContext http, string audience)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("Not an OpenID Connect request.");
        if (http.Request.Query.ContainsKey("cancel"))
        {
            return Results.Forbid(authenticationSchemes: [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }

        var userName = http.Request.Query["user_name"].ToString();
        if (userName.Length == 0)
        {
            var fields = string.Concat(http.Request.Query.Where(p => p.Key != "user_name").Select(p =>
                $"<input type=\"hidden\" name=\"{WebUtility.HtmlEncode(p.Key)}\" value=\"{WebUtility.HtmlEncode(p.Value.ToString())}\">"));
            return Results.Content(
                $"""
                <!doctype html><html lang="en"><head><title>Sign in — test identity provider</title></head>
                <body><main><h1>Test identity provider</h1>
                <form method="get" action="/connect/authorize">{fields}
                <label>Email or user name <input name="user_name" autocomplete="username"></label>
                <button type="submit">Sign in</button> <button type="submit" name="cancel" value="1">Cancel</button></form></main></body></html>
                """, "text/html");
        }

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, "oidc|" + userName).SetClaim(Claims.Name, userName);
        identity.SetScopes(request.GetScopes());
        identity.SetResources(audience);
        identity.SetDestinations(_ => [Destinations.AccessToken]);
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
