using Dapr.Client;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;

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

    [Fact]
    public async Task A_sidecar_does_not_watch_the_working_directory_for_settings_changes()
    {
        var sidecar = await fixture.AddSidecarAsync("settings-watch");
        var settings = ((IConfigurationRoot)sidecar.Services.GetRequiredService<IConfiguration>()).Providers.OfType<JsonConfigurationProvider>().ToList();

        Assert.NotEmpty(settings);
        Assert.All(settings, json => Assert.False(json.Source.ReloadOnChange));
    }
}
