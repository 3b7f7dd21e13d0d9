using System.Security.Claims;
using System.Text;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// JWT bearer settings, section <c>Auth</c>: production names an OIDC <c>Authority</c>; development
/// uses a symmetric <c>SigningKey</c> (base64, ≥ 32 bytes) that <c>ticketsaga token</c> signs with.
/// Outside the Development environment a signing key is accepted only with an <c>Issuer</c> of
/// one's own (a key from a Secret): tokens of the development issuer are refused there.
/// </summary>
public sealed record AuthSettings
{
    public const string DevelopmentIssuer = "ticketsaga-dev";

    public string? Authority { get; init; }

    public string? SigningKey { get; init; }

    public string Issuer { get; init; } = DevelopmentIssuer;

    public string Audience { get; init; } = "ticketsaga";

    public static AuthSettings From(IConfiguration configuration) =>
        configuration.GetSection("Auth").Get<AuthSettings>() ?? new AuthSettings();
}

public static class AuthenticationExtensions
{
    /// <summary>
    /// Every HTTP service validates the caller's JWT itself (issuer, audience, lifetime, signature):
    /// the gateway forwards the token, and nothing behind it trusts an unauthenticated caller.
    /// </summary>
    public static IHostApplicationBuilder AddJwtAuthentication(this IHostApplicationBuilder builder)
    {
        var settings = AuthSettings.From(builder.Configuration);
        builder.Services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer(options =>
        {
            options.MapInboundClaims = false;
            options.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = settings.Issuer,
                ValidAudience = settings.Audience,
                ValidateIssuer = true,
                ValidateAudience = true,
                ValidateLifetime = true,
                ValidateIssuerSigningKey = true,
                ClockSkew = TimeSpan.FromSeconds(30),
                NameClaimType = JwtRegisteredClaimNames.Sub,
            };
            if (!string.IsNullOrWhiteSpace(settings.Authority))
            {
                options.Authority = settings.Authority;
                // The provider's discovery document names its issuer; the development issuer must not be accepted beside it.
                if (settings.Issuer == AuthSettings.DevelopmentIssuer)
                {
                    options.TokenValidationParameters.ValidIssuer = null;
                }

                // Plain HTTP only for a provider on this machine during development; elsewhere metadata comes over TLS.
                options.RequireHttpsMetadata = !(builder.Environment.IsDevelopment() && IsLoopback(settings.Authority));
            }
            else if (!string.IsNullOrWhiteSpace(settings.SigningKey))
            {
                if (!builder.Environment.IsDevelopment() && settings.Issuer == AuthSettings.DevelopmentIssuer)
                {
                    throw new InvalidOperationException(
                        $"The development signing key (issuer '{AuthSettings.DevelopmentIssuer}') is refused in environment '{builder.Environment.EnvironmentName}': " +
                        "set Auth:Authority (OIDC), or a signing key from a Secret together with your own Auth:Issuer.");
                }

                options.TokenValidationParameters.IssuerSigningKey = DevTokens.SecurityKey(settings.SigningKey);
            }
            else
            {
                throw new InvalidOperationException("Set Auth:Authority (OIDC) or Auth:SigningKey (development) to validate tokens.");
            }

            // Every API keys its data by the user (sub): a token without one authenticates nobody (401).
            options.Events = new JwtBearerEvents
            {
                OnTokenValidated = context =>
                {
                    if (string.IsNullOrEmpty(context.Principal?.FindFirstValue(JwtRegisteredClaimNames.Sub)))
                    {
                        context.Fail("The token has no 'sub' claim.");
                    }

                    return Task.CompletedTask;
                },
            };
        });
        builder.Services.AddAuthorization();
        return builder;
    }

    private static bool IsLoopback(string authority) =>
        Uri.TryCreate(authority, UriKind.Absolute, out var uri) && uri.IsLoopback;

    /// <summary>The caller's user id: the token's <c>sub</c> claim.</summary>
    public static string UserId(this ClaimsPrincipal user) =>
        user.FindFirstValue(JwtRegisteredClaimNames.Sub) ?? throw new InvalidOperationException("The token has no 'sub' claim.");
}

/// <summary>Development tokens signed with the shared symmetric key (HS256).</summary>
public static class DevTokens
{
    public static SymmetricSecurityKey SecurityKey(string base64Key)
    {
        var bytes = Convert.FromBase64String(base64Key);
        return bytes.Length >= 32
            ? new SymmetricSecurityKey(bytes)
            : throw new InvalidOperationException("Auth:SigningKey must be at least 32 bytes (base64).");
    }

    public static string NewSigningKey() => Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

    public static string Create(AuthSettings settings, string userId, TimeSpan lifetime, string? name = null)
    {
        var now = DateTime.UtcNow;
        var claims = new Dictionary<string, object> { [JwtRegisteredClaimNames.Sub] = userId };
        if (name is not null)
        {
            claims[JwtRegisteredClaimNames.Name] = name;
        }

        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = settings.Issuer,
            Audience = settings.Audience,
            Claims = claims,
            IssuedAt = now,
            NotBefore = now,
            Expires = now + lifetime,
            SigningCredentials = new SigningCredentials(
                SecurityKey(settings.SigningKey ?? throw new InvalidOperationException("No Auth:SigningKey to sign development tokens with.")),
                SecurityAlgorithms.HmacSha256),
        });
    }
}
