extern alias GatewayApp;

using Microsoft.Extensions.Hosting.Internal;
using TicketSaga.ServiceDefaults;
using StorefrontApi = GatewayApp::TicketSaga.Gateway.Storefront.StorefrontApi;

namespace TicketSaga.Gateway.Tests;

/// <summary>The storefront's development sign-in hands out tokens for any name: it must exist only in development.</summary>
public sealed class DevelopmentSignInTests
{
    private static readonly string Key = DevTokens.NewSigningKey();

    [Theory]
    [InlineData("Development", null, true, AuthSettings.DevelopmentIssuer, true)]
    [InlineData("Production", null, true, AuthSettings.DevelopmentIssuer, false)]
    [InlineData("Production", null, true, "https://tickets.example", false)]
    [InlineData("Development", "https://login.example", true, AuthSettings.DevelopmentIssuer, false)]
    [InlineData("Development", null, false, AuthSettings.DevelopmentIssuer, false)]
    [InlineData("Development", null, true, "https://tickets.example", false)]
    public void Is_on_only_in_development_with_the_development_key_and_no_oidc_authority(
        string environment, string? authority, bool signingKey, string issuer, bool enabled)
    {
        var auth = new AuthSettings { Authority = authority, SigningKey = signingKey ? Key : null, Issuer = issuer };

        Assert.Equal(enabled, StorefrontApi.DevelopmentSignInEnabled(new HostingEnvironment { EnvironmentName = environment }, auth));
    }
}
