using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.Gateway.Tests;

/// <summary>The development sign-in hands out a token for any name, so a gateway with it on faces only this machine.</summary>
[Collection(nameof(GatewayTests))]
public sealed class ListenAddressTests(GatewaySystem system)
{
    [Fact]
    public async Task With_the_development_sign_in_on_the_gateway_listens_on_loopback_only_unless_told_otherwise()
    {
        // The test host runs in Development with the development signing key: the sign-in is on.
        await using var devSignIn = await system.StartGatewayAsync("gateway-dev-sign-in", new Dictionary<string, string?>());
        await using var toldOtherwise = await system.StartGatewayAsync("gateway-dev-sign-in-everywhere", new Dictionary<string, string?> { ["APP_LISTEN_ADDRESS"] = "0.0.0.0" });
        await using var oidcSignIn = await system.StartGatewayAsync("gateway-oidc-sign-in", new Dictionary<string, string?>
        {
            ["Auth:Authority"] = "https://accounts.google.com",
            ["Auth:Audience"] = "storefront-client",
        });
        var (loopback, told, oidc) = (Addresses(devSignIn.Services), Addresses(toldOtherwise.Services), Addresses(oidcSignIn.Services));

        Assert.All(loopback, address => Assert.StartsWith("http://127.0.0.1:", address, StringComparison.Ordinal));
        Assert.DoesNotContain(told, address => address.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
        Assert.DoesNotContain(oidc, address => address.StartsWith("http://127.0.0.1:", StringComparison.Ordinal));
    }

    private static ICollection<string> Addresses(IServiceProvider host) =>
        host.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
}
