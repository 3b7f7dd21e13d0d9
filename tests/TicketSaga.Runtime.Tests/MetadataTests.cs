using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Tests;

public sealed class MetadataTests(ResourcesRuntimeFixture fixture) : IClassFixture<ResourcesRuntimeFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Metadata_reports_the_app_its_visible_components_and_its_subscriptions()
    {
        var port = PortAllocator.FreePort();
        await using var app = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/created", () => Results.Ok()).WithTopic("pubsub", "orders.order.created");
        });
        var sidecar = await fixture.AddSidecarAsync("metadata-app", port);
        using var dapr = sidecar.CreateDaprClient();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{sidecar.App.HttpPort}") };
        await sidecar.Services.GetRequiredService<PubSub.SidecarSubscriptions>().Discovered.WaitAsync(TimeSpan.FromSeconds(30), Cancel);

        var viaGrpc = await dapr.GetMetadataAsync(Cancel);
        var viaHttp = await http.GetFromJsonAsync<JsonElement>(new Uri("/v1.0/metadata", UriKind.Relative), Cancel);

        Assert.Equal("metadata-app", viaGrpc.Id);
        Assert.Equal(["pubsub"], viaGrpc.Components.Select(c => c.Name));
        Assert.Equal("pubsub.kafka", viaGrpc.Components.Single().Type);
        Assert.Equal("metadata-app", viaHttp.GetProperty("id").GetString());
        var subscription = viaHttp.GetProperty("subscriptions").EnumerateArray().Single();
        Assert.Equal("orders.order.created", subscription.GetProperty("topic").GetString());
        Assert.Equal("created", subscription.GetProperty("rules").EnumerateArray().Single().GetProperty("path").GetString());
        Assert.Equal("PROGRAMMATIC", subscription.GetProperty("type").GetString());
    }

    [Fact]
    public async Task Attributes_the_app_sets_over_grpc_or_http_are_reported_as_extended_metadata()
    {
        var sidecar = await fixture.AddSidecarAsync("metadata-setter");
        using var dapr = sidecar.CreateDaprClient();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{sidecar.App.HttpPort}") };

        await dapr.SetMetadataAsync("build", "2026.12", Cancel);
        using var put = await http.PutAsync(new Uri("/v1.0/metadata/region", UriKind.Relative), new StringContent("eu-west"), Cancel);

        Assert.Equal(System.Net.HttpStatusCode.NoContent, put.StatusCode);
        var viaGrpc = await dapr.GetMetadataAsync(Cancel);
        Assert.Equal(("2026.12", "eu-west"), (viaGrpc.Extended["build"], viaGrpc.Extended["region"]));
        var extended = (await http.GetFromJsonAsync<JsonElement>(new Uri("/v1.0/metadata", UriKind.Relative), Cancel)).GetProperty("extended");
        Assert.Equal(("2026.12", "eu-west"), (extended.GetProperty("build").GetString(), extended.GetProperty("region").GetString()));
    }

    [Fact]
    public async Task Unbound_dapr_api_methods_answer_unimplemented()
    {
        using var dapr = (await fixture.AddSidecarAsync("configuration-user")).CreateDaprClient();

        var failure = await Record.ExceptionAsync(() => dapr.GetConfiguration("configstore", ["feature"], cancellationToken: Cancel));

        Assert.Equal(StatusCode.Unimplemented, Assert.IsType<RpcException>(failure?.InnerException).StatusCode);
    }

    [Fact]
    public async Task Shutdown_stops_the_sidecar_gracefully()
    {
        var sidecar = await fixture.AddSidecarAsync("shutdown-app");
        using var dapr = sidecar.CreateDaprClient();
        // Outbound: no app listens on this sidecar's app port, so /v1.0/healthz says not ready, as daprd's would.
        Assert.True(await dapr.CheckOutboundHealthAsync(Cancel));

        await dapr.ShutdownSidecarAsync(Cancel);

        await TestSupport.EventuallyAsync(async () => !await dapr.CheckOutboundHealthAsync(Cancel), "the sidecar to stop answering");
    }
}
