using Dapr.Client;

namespace TicketSaga.Runtime.Tests;

public sealed class HealthTests(RuntimeFixture fixture) : IClassFixture<RuntimeFixture>
{
    [Fact]
    public async Task DaprClient_finds_a_healthy_sidecar_on_the_ports_dapr_run_would_give()
    {
        var sidecar = await fixture.AddSidecarAsync("health-probe");
        using var client = new DaprClientBuilder()
            .UseHttpEndpoint($"http://127.0.0.1:{sidecar.App.HttpPort}")
            .UseGrpcEndpoint($"http://127.0.0.1:{sidecar.App.GrpcPort}")
            .Build();

        Assert.True(await client.CheckHealthAsync(TestContext.Current.CancellationToken));
        Assert.True(await client.CheckOutboundHealthAsync(TestContext.Current.CancellationToken));
    }
}
