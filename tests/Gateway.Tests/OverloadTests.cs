using System.Net;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class OverloadTests(GatewaySystem system)
{
    [Fact]
    public async Task Two_hundred_concurrent_requests_share_a_few_connections_to_the_sidecar()
    {
        await using var relay = new CountingRelay();
        await using var gateway = await system.StartGatewayAsync("gateway-pooled", new Dictionary<string, string?>
        {
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{relay.Port}",
            ["Gateway:SidecarConnections"] = "4",
        });
        relay.TargetPort = gateway.App.HttpPort;
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user, gateway.Address);

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            using var response = await client.GetAsync("/orders");
            return response.StatusCode;
        }));

        Assert.All(answers, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(200, system.Orders.ReceivedFrom(user).Count);
        Assert.InRange(relay.Opened, 1, 4);
    }
}
