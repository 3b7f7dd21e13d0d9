using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Dapr;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Runtime.Tests;

public sealed class PubSubTests(ResourcesRuntimeFixture fixture) : IClassFixture<ResourcesRuntimeFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private DeadLetters DeadLetters => fixture.Runtime.Services.GetRequiredService<DeadLetters>();

    [Fact]
    public async Task Published_events_reach_the_subscriber_as_cloud_events_in_order_per_partition_key()
    {
        var received = new ConcurrentQueue<JsonElement>();
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/seats", async (HttpRequest request) =>
            {
                var cloudEvent = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
                await Task.Delay(Random.Shared.Next(0, 3));
                received.Enqueue(cloudEvent);
                return Results.Ok();
            }).WithTopic("pubsub", "seats.reserved");
        });
        await fixture.AddSidecarAsync("seat-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("seat-publisher")).CreateDaprClient();

        string[] keys = ["order-a", "order-b", "order-c"];
        await Task.WhenAll(keys.Select(async key =>
        {
            for (var n = 0; n < 25; n++)
            {
                await publisher.PublishEventAsync("pubsub", "seats.reserved", new SeatReserved(key, n),
                    new Dictionary<string, string> { ["partitionKey"] = key }, Cancel);
            }
        }));

        await TestSupport.EventuallyAsync(() => received.Count >= 75, "75 deliveries");
        foreach (var key in keys)
        {
            var sequence = received.Where(e => e.GetProperty("data").GetProperty("key").GetString() == key)
                .Select(e => e.GetProperty("data").GetProperty("n").GetInt32());
            Assert.Equal(Enumerable.Range(0, 25), sequence);
        }

        var first = received.First();
        Assert.True(Guid.TryParse(first.GetProperty("id").GetString(), out _));
        Assert.Equal("seat-publisher", first.GetProperty("source").GetString());
        Assert.Equal("com.dapr.event.sent", first.GetProperty("type").GetString());
        Assert.Equal("1.0", first.GetProperty("specversion").GetString());
        Assert.Equal("application/json", first.GetProperty("datacontenttype").GetString());
        Assert.Equal("seats.reserved", first.GetProperty("topic").GetString());
        Assert.Equal("pubsub", first.GetProperty("pubsubname").GetString());
        Assert.StartsWith("00-", first.GetProperty("traceparent").GetString());
        Assert.Equal(75, received.Select(e => e.GetProperty("id").GetString()).Distinct().Count());
    }

    [Fact]
    public async Task A_failing_subscriber_is_retried_three_times_with_growing_delays_then_dead_lettered_and_can_be_replayed()
    {
        var attempts = new ConcurrentQueue<string>();
        var deadLettered = new ConcurrentQueue<JsonElement>();
        var failing = true;
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/captured", async (HttpRequest request) =>
            {
                var cloudEvent = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
                attempts.Enqueue(cloudEvent.GetProperty("id").GetString()!);
                return Volatile.Read(ref failing) ? Results.Problem("card processor down") : Results.Ok();
            }).WithTopic(new TopicOptions { PubsubName = "pubsub", Name = "payments.captured", DeadLetterTopic = "payments.captured.dlq" });
            web.MapPost("/captured-dlq", async (HttpRequest request) =>
            {
                deadLettered.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
                return Results.Ok();
            }).WithTopic("pubsub", "payments.captured.dlq");
        });
        await fixture.AddSidecarAsync("capture-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("capture-publisher")).CreateDaprClient();

        await publisher.PublishEventAsync("pubsub", "payments.captured", new { orderId = "o-1" }, Cancel);

        await TestSupport.EventuallyAsync(() => !deadLettered.IsEmpty, "the message on payments.captured.dlq");
        Assert.Equal(4, attempts.Count);
        var record = Assert.Single(await DeadLetters.ListAsync("capture-subscriber", cancellationToken: Cancel));
        Assert.Equal(DeadLetterReasons.RetriesExhausted, record.Reason);
        Assert.Equal("payments.captured", record.Topic);
        Assert.Equal("payments.captured.dlq", record.DeadLetterTopic);
        Assert.Equal(4, record.Attempts);
        Assert.Contains("500", record.LastError);
        Assert.Equal(3, record.RetryDelaysMs.Count);
        Assert.True(record.RetryDelaysMs.Zip(record.RetryDelaysMs.Skip(1)).All(pair => pair.First < pair.Second), string.Join(",", record.RetryDelaysMs));
        Assert.True(record.FirstAttemptAt < record.LastAttemptAt);
        Assert.Equal(record.MessageId, attempts.First());
        var onDeadLetterTopic = Assert.Single(deadLettered);
        Assert.Equal(record.MessageId, onDeadLetterTopic.GetProperty("id").GetString());
        Assert.Equal("o-1", onDeadLetterTopic.GetProperty("data").GetProperty("orderId").GetString());

        Volatile.Write(ref failing, false);
        Assert.True(await DeadLetters.ReplayAsync(record.Id, Cancel));
        await TestSupport.EventuallyAsync(() => attempts.Count == 5, "the replayed delivery");
        await TestSupport.EventuallyAsync(async () => (await DeadLetters.ListAsync("capture-subscriber", includeReplayed: false, cancellationToken: Cancel)).Count == 0, "the record marked replayed");
        Assert.False(await DeadLetters.ReplayAsync(record.Id, Cancel));
    }

    [Fact]
    public async Task Retry_answers_are_retried_until_success_without_a_dead_letter()
    {
        var attempts = 0;
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/refunds", () => Interlocked.Increment(ref attempts) < 3 ? Results.Json(new { status = "RETRY" }) : Results.Json(new { status = "SUCCESS" }))
                .WithTopic("pubsub", "payments.refunded");
        });
        await fixture.AddSidecarAsync("refund-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("refund-publisher")).CreateDaprClient();

        await publisher.PublishEventAsync("pubsub", "payments.refunded", new { orderId = "o-2" }, Cancel);
        await publisher.PublishEventAsync("pubsub", "payments.refunded", new { orderId = "o-2" }, Cancel);

        await TestSupport.EventuallyAsync(() => Volatile.Read(ref attempts) == 4, "three attempts for the first message and one for the second");
        Assert.Empty(await DeadLetters.ListAsync("refund-subscriber", cancellationToken: Cancel));
    }

    [Fact]
    public async Task A_status_in_another_case_is_unknown_and_retried_as_daprd_does()
    {
        var attempts = 0;
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/receipts", () => Interlocked.Increment(ref attempts) == 1 ? Results.Json(new { status = "success" }) : Results.Json(new { status = "SUCCESS" }))
                .WithTopic("pubsub", "receipts.sent");
        });
        await fixture.AddSidecarAsync("receipt-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("receipt-publisher")).CreateDaprClient();

        await publisher.PublishEventAsync("pubsub", "receipts.sent", new { orderId = "o-3" }, Cancel);

        await TestSupport.EventuallyAsync(() => Volatile.Read(ref attempts) == 2, "a second attempt after the lower-case answer");
        Assert.Empty(await DeadLetters.ListAsync("receipt-subscriber", cancellationToken: Cancel));
    }

    [Fact]
    public async Task A_dropped_message_is_audited_and_not_retried()
    {
        var deliveries = new ConcurrentQueue<string>();
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/tickets", async (HttpRequest request) =>
            {
                var data = (await JsonSerializer.DeserializeAsync<JsonElement>(request.Body)).GetProperty("data").GetProperty("what").GetString()!;
                deliveries.Enqueue(data);
                return data == "poison" ? Results.Json(new { status = "DROP" }) : Results.Ok();
            }).WithTopic("pubsub", "tickets.changed");
        });
        await fixture.AddSidecarAsync("ticket-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("ticket-publisher")).CreateDaprClient();
        var sameKey = new Dictionary<string, string> { ["partitionKey"] = "ticket-1" };

        await publisher.PublishEventAsync("pubsub", "tickets.changed", new { what = "poison" }, sameKey, Cancel);
        await publisher.PublishEventAsync("pubsub", "tickets.changed", new { what = "fine" }, sameKey, Cancel);

        await TestSupport.EventuallyAsync(() => deliveries.Contains("fine"), "the message after the dropped one");
        Assert.Equal(["poison", "fine"], deliveries);
        var record = Assert.Single(await DeadLetters.ListAsync("ticket-subscriber", cancellationToken: Cancel));
        Assert.Equal(DeadLetterReasons.DroppedByApp, record.Reason);
        Assert.Equal(1, record.Attempts);
        Assert.Null(record.DeadLetterTopic);
    }

    [Fact]
    public async Task A_subscription_with_a_rule_beyond_the_supported_cel_is_left_out_and_the_apps_others_still_deliver()
    {
        var port = PortAllocator.FreePort();
        var received = new ConcurrentQueue<string>();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapGet("/dapr/subscribe", () => Results.Json(new object[]
            {
                new { pubsubName = "pubsub", topic = "prices.changed", routes = new { rules = new[] { new { match = "event.data.amount > 100", path = "/big" } }, @default = "/prices" } },
                new { pubsubName = "pubsub", topic = "stock.changed", route = "/stock" },
            }));
            web.MapPost("/stock", async (HttpRequest request) =>
            {
                received.Enqueue((await JsonSerializer.DeserializeAsync<JsonElement>(request.Body)).GetProperty("data").GetProperty("item").GetString()!);
                return Results.Ok();
            });
        });
        await fixture.AddSidecarAsync("stock-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("stock-publisher")).CreateDaprClient();

        await publisher.PublishEventAsync("pubsub", "stock.changed", new { item = "i-1" }, Cancel);

        await TestSupport.EventuallyAsync(() => received.Contains("i-1"), "the message of the readable subscription");
    }

    [Fact]
    public async Task A_route_that_answers_404_is_dead_lettered_with_the_error()
    {
        var port = PortAllocator.FreePort();
        var deadLettered = new ConcurrentQueue<string>();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapGet("/dapr/subscribe", () => Results.Json(new object[]
            {
                new { pubsubName = "pubsub", topic = "venues.updated", route = "/not-mapped", deadLetterTopic = "venues.updated.dlq" },
                new { pubsubName = "pubsub", topic = "venues.updated.dlq", route = "/dlq" },
            }));
            web.MapPost("/dlq", async (HttpRequest request) =>
            {
                deadLettered.Enqueue((await JsonSerializer.DeserializeAsync<JsonElement>(request.Body)).GetProperty("id").GetString()!);
                return Results.Ok();
            });
        });
        await fixture.AddSidecarAsync("venue-subscriber", port);
        using var publisher = (await fixture.AddSidecarAsync("venue-publisher")).CreateDaprClient();

        await publisher.PublishEventAsync("pubsub", "venues.updated", new { venue = "v-1" }, Cancel);

        await TestSupport.EventuallyAsync(() => !deadLettered.IsEmpty, "the message on venues.updated.dlq");
        var record = Assert.Single(await DeadLetters.ListAsync("venue-subscriber", cancellationToken: Cancel));
        Assert.Equal(DeadLetterReasons.RouteNotFound, record.Reason);
        Assert.Contains("/not-mapped answered 404", record.LastError);
        Assert.Equal(record.MessageId, deadLettered.Single());
    }

    [Fact]
    public async Task Payloads_that_are_not_json_are_delivered_with_their_content_type()
    {
        var received = new ConcurrentQueue<JsonElement>();
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/notes", async (HttpRequest request) =>
            {
                received.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
                return Results.Ok();
            }).WithTopic("pubsub", "notes");
        });
        await fixture.AddSidecarAsync("note-subscriber", port);
        var publisher = await fixture.AddSidecarAsync("note-publisher");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{publisher.App.HttpPort}") };

        async Task Publish(string body, string contentType)
        {
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            using var response = await http.PostAsync(new Uri("/v1.0/publish/pubsub/notes?metadata.partitionKey=n", UriKind.Relative), content, Cancel);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        }

        await Publish("hello", "text/plain");
        await Publish("{oops", "application/json");
        await Publish("\u0001\u0002", "application/octet-stream");
        await Publish("order=7", "application/x-www-form-urlencoded");
        using (var untyped = await http.PostAsync(new Uri("/v1.0/publish/pubsub/notes?metadata.partitionKey=n", UriKind.Relative), new ByteArrayContent("""{"a":1}"""u8.ToArray()), Cancel))
        {
            Assert.Equal(System.Net.HttpStatusCode.NoContent, untyped.StatusCode);
        }

        await TestSupport.EventuallyAsync(() => received.Count == 5, "five deliveries");
        var (text, brokenJson, binary) = (received.ElementAt(0), received.ElementAt(1), received.ElementAt(2));
        // As daprd: only octet-stream is base64; a body without a type is text, JSON or not.
        Assert.Equal("order=7", received.ElementAt(3).GetProperty("data").GetString());
        Assert.Equal("text/plain", received.ElementAt(4).GetProperty("datacontenttype").GetString());
        Assert.Equal("""{"a":1}""", received.ElementAt(4).GetProperty("data").GetString());
        Assert.Equal("text/plain", text.GetProperty("datacontenttype").GetString());
        Assert.Equal("hello", text.GetProperty("data").GetString());
        Assert.Equal("{oops", brokenJson.GetProperty("data").GetString());
        Assert.Equal("application/octet-stream", binary.GetProperty("datacontenttype").GetString());
        Assert.Equal(Convert.ToBase64String([1, 2]), binary.GetProperty("data_base64").GetString());
    }

    [Fact]
    public async Task A_publish_by_put_is_delivered_as_daprd_routes_put_like_post()
    {
        var received = new ConcurrentQueue<JsonElement>();
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/payouts", async (HttpRequest request) =>
            {
                received.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
                return Results.Ok();
            }).WithTopic("pubsub", "payouts.sent");
        });
        await fixture.AddSidecarAsync("payout-subscriber", port);
        var publisher = await fixture.AddSidecarAsync("payout-publisher");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{publisher.App.HttpPort}") };

        using var response = await http.PutAsync(new Uri("/v1.0/publish/pubsub/payouts.sent", UriKind.Relative),
            new StringContent("""{"orderId":"o-9"}""", Encoding.UTF8, "application/json"), Cancel);

        Assert.Equal(System.Net.HttpStatusCode.NoContent, response.StatusCode);
        await TestSupport.EventuallyAsync(() => !received.IsEmpty, "the payout delivered");
        Assert.Equal("o-9", Assert.Single(received).GetProperty("data").GetProperty("orderId").GetString());
    }

    [Fact]
    public async Task A_message_past_its_expiration_is_dropped_unseen_and_ttlInSeconds_sets_the_expiration()
    {
        var received = new ConcurrentQueue<JsonElement>();
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/offers", async (HttpRequest request) =>
            {
                received.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
                return Results.Ok();
            }).WithTopic("pubsub", "offers.flash");
        });
        await fixture.AddSidecarAsync("offer-subscriber", port);
        var publisher = await fixture.AddSidecarAsync("offer-publisher");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{publisher.App.HttpPort}") };

        // One partition key: the stale offer's turn comes before the fresh one's.
        using var stale = new StringContent("""{"id":"offer-stale","source":"offers","type":"offer","specversion":"1.0","expiration":"2020-01-01T00:00:00Z","datacontenttype":"application/json","data":{"n":1}}""");
        stale.Headers.ContentType = MediaTypeHeaderValue.Parse("application/cloudevents+json");
        using (var response = await http.PostAsync(new Uri("/v1.0/publish/pubsub/offers.flash?metadata.partitionKey=flash", UriKind.Relative), stale, Cancel))
        {
            response.EnsureSuccessStatusCode();
        }

        var publishedAt = DateTimeOffset.UtcNow;
        using (var response = await http.PostAsync(new Uri("/v1.0/publish/pubsub/offers.flash?metadata.partitionKey=flash&metadata.ttlInSeconds=3600", UriKind.Relative),
            new StringContent("""{"n":2}""", Encoding.UTF8, "application/json"), Cancel))
        {
            response.EnsureSuccessStatusCode();
        }

        await TestSupport.EventuallyAsync(() => !received.IsEmpty, "the fresh offer");
        var fresh = Assert.Single(received);
        Assert.Equal(2, fresh.GetProperty("data").GetProperty("n").GetInt32());
        var expiration = DateTimeOffset.Parse(fresh.GetProperty("expiration").GetString()!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(expiration, publishedAt.AddSeconds(3599), publishedAt.AddSeconds(3601) + (DateTimeOffset.UtcNow - publishedAt));
        var dropped = Assert.Single(await DeadLetters.ListAsync("offer-subscriber", cancellationToken: Cancel));
        Assert.Equal((DeadLetterReasons.Expired, "offer-stale"), (dropped.Reason, dropped.MessageId));
    }

    [Fact]
    public async Task A_published_cloud_event_or_cloudevent_id_metadata_keeps_the_publishers_id()
    {
        var received = new ConcurrentQueue<JsonElement>();
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapSubscribeHandler();
            web.MapPost("/audit", async (HttpRequest request) =>
            {
                received.Enqueue(await JsonSerializer.DeserializeAsync<JsonElement>(request.Body));
                return Results.Ok();
            }).WithTopic("pubsub", "audit");
        });
        await fixture.AddSidecarAsync("audit-subscriber", port);
        var sidecar = await fixture.AddSidecarAsync("audit-publisher");
        using var publisher = sidecar.CreateDaprClient();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{sidecar.App.HttpPort}") };
        var key = new Dictionary<string, string> { ["partitionKey"] = "audit", ["cloudevent.id"] = "outbox-42" };

        await publisher.PublishEventAsync("pubsub", "audit", new { n = 1 }, key, Cancel);
        using var content = new StringContent("""{"id":"ce-7","source":"outbox","type":"order.created","specversion":"1.0","datacontenttype":"application/json","data":{"n":2}}""");
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/cloudevents+json");
        using var response = await http.PostAsync(new Uri("/v1.0/publish/pubsub/audit?metadata.partitionKey=audit", UriKind.Relative), content, Cancel);
        response.EnsureSuccessStatusCode();

        await TestSupport.EventuallyAsync(() => received.Count == 2, "two deliveries");
        Assert.Equal("outbox-42", received.ElementAt(0).GetProperty("id").GetString());
        var cloudEvent = received.ElementAt(1);
        Assert.Equal("ce-7", cloudEvent.GetProperty("id").GetString());
        Assert.Equal("outbox", cloudEvent.GetProperty("source").GetString());
        Assert.Equal("order.created", cloudEvent.GetProperty("type").GetString());
        Assert.Equal("audit", cloudEvent.GetProperty("topic").GetString());
        Assert.Equal(2, cloudEvent.GetProperty("data").GetProperty("n").GetInt32());
    }

    [Fact]
    public async Task A_declarative_subscription_routes_by_rule_and_scopes_to_its_app()
    {
        var received = new ConcurrentQueue<string>();
        var port = PortAllocator.FreePort();
        await using var subscriber = await TestApp.StartAsync(port, web =>
        {
            web.MapPost("/vip", () => { received.Enqueue("vip"); return Results.Ok(); });
            web.MapPost("/orders", () => { received.Enqueue("orders"); return Results.Ok(); });
        });
        var sidecar = await fixture.AddSidecarAsync("declarative-subscriber", port);
        var publisherSidecar = await fixture.AddSidecarAsync("declarative-publisher");
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{publisherSidecar.App.HttpPort}") };

        foreach (var type in new[] { "vip", "regular" })
        {
            using var content = new StringContent($$"""{"id":"{{type}}-1","source":"test","type":"{{type}}","specversion":"1.0","data":{"n":1} }""");
            content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/cloudevents+json");
            using var response = await http.PostAsync(new Uri("/v1.0/publish/pubsub/declared.orders?metadata.partitionKey=k", UriKind.Relative), content, Cancel);
            response.EnsureSuccessStatusCode();
        }

        await TestSupport.EventuallyAsync(() => received.Count == 2, "two deliveries");
        Assert.Equal(["vip", "orders"], received);
        var subscriptions = await sidecar.Services.GetRequiredService<SidecarSubscriptions>().Discovered;
        Assert.Equal("declared.orders.dlq", Assert.Single(subscriptions).DeadLetterTopic);
    }

    [Fact]
    public async Task Publishing_to_an_unknown_or_out_of_scope_pubsub_is_refused()
    {
        using var publisher = (await fixture.AddSidecarAsync("stray-publisher")).CreateDaprClient();

        var unknown = await Record.ExceptionAsync(() => publisher.PublishEventAsync("nope", "t", new { }, Cancel));
        var scoped = await Record.ExceptionAsync(() => publisher.PublishEventAsync("private-pubsub", "t", new { }, Cancel));

        Assert.Contains("pubsub 'nope' is not found", unknown?.InnerException?.Message ?? unknown?.Message);
        Assert.Contains("pubsub 'private-pubsub' is not found", scoped?.InnerException?.Message ?? scoped?.Message);
    }

    [Fact]
    public async Task Messages_published_at_once_are_each_appended_in_the_order_their_publisher_sent_them()
    {
        var log = fixture.Runtime.Services.GetRequiredService<PubSubLog>();
        var topic = $"log.together-{Guid.NewGuid():N}";

        // Eight publishers, each one message after another: their messages share appends with the others'.
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async publisher =>
        {
            for (var n = 0; n < 50; n++)
            {
                await log.AppendAsync("pubsub", topic, new CloudEventMessage($"{publisher}-{n}", $"p{publisher}", $$"""{"n":{{n}}}"""), Cancel);
            }
        }));

        // And one publisher handing many over without waiting: they go together, in the order handed over.
        await Task.WhenAll(Enumerable.Range(0, 100)
            .Select(n => log.AppendAsync("pubsub", topic, new CloudEventMessage($"8-{n}", "p8", $$"""{"n":{{n}}}"""), Cancel))
            .ToList());

        var logged = await LoggedAsync(topic);
        Assert.Equal(500, logged.Count);
        foreach (var (publisher, count) in Enumerable.Range(0, 8).Select(p => (p, 50)).Append((8, 100)))
        {
            Assert.Equal(Enumerable.Range(0, count).Select(n => $"{publisher}-{n}"), logged.Where(id => id.StartsWith($"{publisher}-", StringComparison.Ordinal)));
        }
    }

    [Fact]
    public async Task A_message_the_log_refuses_fails_its_own_publish_and_not_those_appended_with_it()
    {
        var log = fixture.Runtime.Services.GetRequiredService<PubSubLog>();
        var topic = $"log.refused-{Guid.NewGuid():N}";

        // Handed over without waiting, so that the writer finds them together.
        var publishes = Enumerable.Range(0, 60)
            .Select(n => (N: n, Task: log.AppendAsync("pubsub", topic, new CloudEventMessage($"m-{n}", "k", n == 30 ? "{not json" : $$"""{"n":{{n}}}"""), Cancel)))
            .ToList();
        var refused = await Record.ExceptionAsync(() => publishes[30].Task);
        await Task.WhenAll(publishes.Where(p => p.N != 30).Select(p => p.Task));

        Assert.Equal("22P02", Assert.IsType<Npgsql.PostgresException>(refused).SqlState);
        Assert.Equal(Enumerable.Range(0, 60).Where(n => n != 30).Select(n => $"m-{n}"), await LoggedAsync(topic));
    }

    /// <summary>The message ids of a topic's log in sequence order.</summary>
    private async Task<List<string>> LoggedAsync(string topic)
    {
        await using var command = fixture.Runtime.Services.GetRequiredService<Npgsql.NpgsqlDataSource>()
            .CreateCommand("SELECT message_id FROM pubsub_messages WHERE topic = $1 ORDER BY seq");
        command.Parameters.Add(new() { Value = topic });
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        while (await reader.ReadAsync(Cancel))
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private sealed record SeatReserved(string Key, int N);
}
