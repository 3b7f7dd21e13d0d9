using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Tests;

public sealed class HealthTests(RuntimeFixture fixture) : IClassFixture<RuntimeFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task DaprClient_finds_a_healthy_sidecar_on_the_ports_dapr_run_would_give()
    {
        var port = PortAllocator.FreePort();
        await using var app = await TestApp.StartAsync(port, web => web.MapGet("/", () => Results.Ok()));
        var sidecar = await fixture.AddSidecarAsync("health-probe", port);
        using var client = new DaprClientBuilder()
            .UseHttpEndpoint($"http://127.0.0.1:{sidecar.App.HttpPort}")
            .UseGrpcEndpoint($"http://127.0.0.1:{sidecar.App.GrpcPort}")
            .Build();

        await TestSupport.EventuallyAsync(() => client.CheckHealthAsync(Cancel), "the sidecar to see its app");
        Assert.True(await client.CheckOutboundHealthAsync(Cancel));
    }

    [Fact]
    public async Task Healthz_answers_500_until_the_app_listens_on_its_port_while_outbound_is_ready_at_once()
    {
        var port = PortAllocator.FreePort();
        var sidecar = await fixture.AddSidecarAsync("late-starter", port);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{sidecar.App.HttpPort}") };

        // As daprd: the runtime is not ready before the app listens, but its components are.
        using (var notReady = await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative), Cancel))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, notReady.StatusCode);
            Assert.Equal("ERR_HEALTH_NOT_READY", (await notReady.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
        }

        using (var outbound = await http.GetAsync(new Uri("/v1.0/healthz/outbound", UriKind.Relative), Cancel))
        {
            Assert.Equal(HttpStatusCode.NoContent, outbound.StatusCode);
        }

        await using var app = await TestApp.StartAsync(port, web => web.MapGet("/", () => Results.Ok()));
        await TestSupport.EventuallyAsync(async () =>
        {
            using var ready = await http.GetAsync(new Uri("/v1.0/healthz", UriKind.Relative), Cancel);
            return ready.StatusCode == HttpStatusCode.NoContent;
        }, "the sidecar to see its app");

        using var otherApp = await http.GetAsync(new Uri("/v1.0/healthz?appid=someone-else", UriKind.Relative), Cancel);
        Assert.Equal(HttpStatusCode.InternalServerError, otherApp.StatusCode);
        Assert.Equal("ERR_HEALTH_APPID_NOT_MATCH", (await otherApp.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
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
