using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Tests;

public sealed class PubSubRestartTests(ResourcesRuntimeFixture fixture) : IClassFixture<ResourcesRuntimeFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_message_delivered_but_not_acknowledged_before_a_crash_is_delivered_again_after_restart()
    {
        var deliveries = new ConcurrentQueue<string>();
        var firstDeliveryArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/expired", async (HttpRequest request, CancellationToken aborted) =>
            {
                deliveries.Enqueue((await JsonSerializer.DeserializeAsync<JsonElement>(request.Body, cancellationToken: aborted)).GetProperty("id").GetString()!);
                if (deliveries.Count == 1)
                {
                    // The runtime goes down while the app is still handling the first delivery.
                    firstDeliveryArrived.SetResult();
                    await Task.Delay(Timeout.Infinite, aborted);
                }

                return Results.Ok();
            }).WithTopic("pubsub", "expiration.order.expiration_complete");
        });
        await fixture.AddSidecarAsync("expiry-subscriber", port);
        using (var publisher = (await fixture.AddSidecarAsync("expiry-publisher")).CreateDaprClient())
        {
            await publisher.PublishEventAsync("pubsub", "expiration.order.expiration_complete", new { orderId = "o-9" }, Cancel);
        }

        await firstDeliveryArrived.Task.WaitAsync(TimeSpan.FromSeconds(30), Cancel);
        await fixture.RestartAsync();
        await fixture.AddSidecarAsync("expiry-subscriber", port);

        await TestSupport.EventuallyAsync(() => deliveries.Count == 2, "the redelivery after restart");
        Assert.Equal(deliveries.First(), deliveries.Last());
    }

    [Fact]
    public async Task Messages_published_while_the_subscriber_app_is_down_are_delivered_when_it_comes_back()
    {
        var received = new ConcurrentQueue<int>();
        var port = PortAllocator.FreePort();
        void Map(WebApplication web)
        {
            web.MapSubscribeHandler();
            web.MapPost("/holds", async (HttpRequest request) =>
            {
                received.Enqueue((await JsonSerializer.DeserializeAsync<JsonElement>(request.Body)).GetProperty("data").GetProperty("n").GetInt32());
                return Results.Ok();
            }).WithTopic("pubsub", "holds.created");
        }

        var subscriber = await TestApp.StartAsync(port, Map);
        await fixture.AddSidecarAsync("hold-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("hold-publisher")).CreateDaprClient();
        await publisher.PublishEventAsync("pubsub", "holds.created", new { n = 0 }, Cancel);
        await TestSupport.EventuallyAsync(() => received.Count == 1, "the first delivery");

        await subscriber.DisposeAsync();
        for (var n = 1; n <= 5; n++)
        {
            await publisher.PublishEventAsync("pubsub", "holds.created", new { n }, new Dictionary<string, string> { ["partitionKey"] = "hold" }, Cancel);
        }

        await using var restarted = await TestApp.StartAsync(port, Map);
        await TestSupport.EventuallyAsync(() => received.Count == 6, "the five messages published while the app was down");
        Assert.Equal([0, 1, 2, 3, 4, 5], received);
    }
}
