using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Dapr;
using Dapr.AspNetCore;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// An app written with Dapr.AspNetCore only (<c>[Topic(..., rawPayload)]</c>, <c>[BulkSubscribe]</c>,
/// <c>UseCloudEvents</c>, <c>MapSubscribeHandler</c>) on a <see cref="DaprTestHost"/>.
/// </summary>
public sealed class PubSubOptionsFixture(PostgresServer postgres) : IAsyncLifetime
{
    public const string AppId = "inventory";

    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-pubsub-options-").FullName;
    private TestApp _app = null!;

    public DaprTestHost Host { get; private set; } = null!;

    public Dapr.Client.DaprClient Client { get; private set; } = null!;

    public ConcurrentQueue<(string? ContentType, byte[] Body)> Raw { get; } = new();

    public ConcurrentQueue<string> BulkEntries { get; } = new();

    public ConcurrentQueue<int> BulkRequestSizes { get; } = new();

    private readonly ConcurrentDictionary<string, byte> _retried = new();

    public async ValueTask InitializeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(_folder, "pubsub.yaml"), """
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: pubsub
            spec:
              type: pubsub.kafka
              version: v1
            ---
            apiVersion: dapr.io/v1alpha1
            kind: Component
            metadata:
              name: oldest-pubsub
            spec:
              type: pubsub.kafka
              version: v1
              metadata:
                - name: initialOffset
                  value: oldest
            """);
        Host = await DaprTestHost.StartAsync(AppId, new DaprTestHostOptions { PostgresConnectionString = postgres.ConnectionString, ResourcesPaths = [_folder] });
        Client = Host.CreateDaprClient();
        _app = await TestApp.StartAsync(Host.App.AppPort, web =>
        {
            web.UseCloudEvents();
            web.MapSubscribeHandler();
            web.MapPost("/raw", [Topic("pubsub", "raw-topic", true)] async (HttpRequest request) =>
            {
                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body);
                Raw.Enqueue((request.ContentType, body.ToArray()));
                return Results.Ok();
            });
            web.MapPost("/bulk", [Topic("pubsub", "bulk-topic")] [BulkSubscribe("bulk-topic", 10)] (BulkSubscribeMessage<BulkMessageModel<Order>> message) =>
            {
                BulkRequestSizes.Enqueue(message.Entries.Count);
                return Results.Ok(new BulkSubscribeAppResponse([.. message.Entries.Select(entry =>
                {
                    var id = entry.Event.Data.Id;
                    BulkEntries.Enqueue(id);
                    var status = id == "poison" ? BulkSubscribeAppResponseStatus.DROP
                        : id == "flaky" && _retried.TryAdd(id, 0) ? BulkSubscribeAppResponseStatus.RETRY
                        : BulkSubscribeAppResponseStatus.SUCCESS;
                    return new BulkSubscribeAppResponseEntry(entry.EntryId, status);
                })]));
            });
        });
        await Host.Sidecar.Services.GetRequiredService<PubSub.SidecarSubscriptions>().Discovered;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.DisposeAsync();
        Client.Dispose();
        await Host.DisposeAsync();
        Directory.Delete(_folder, recursive: true);
    }
}

public sealed record Order(string Id);

public sealed class PubSubOptionsTests(PubSubOptionsFixture dapr) : IClassFixture<PubSubOptionsFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_rawPayload_publish_reaches_a_rawPayload_subscriber_as_exactly_the_bytes_published()
    {
        var id = "raw-" + Guid.NewGuid().ToString("N");

        await dapr.Client.PublishEventAsync("pubsub", "raw-topic", new Order(id), new Dictionary<string, string> { ["rawPayload"] = "true" }, Cancel);

        await TestSupport.EventuallyAsync(() => dapr.Raw.Any(r => Encoding.UTF8.GetString(r.Body).Contains(id, StringComparison.Ordinal)), "the raw message");
        var (contentType, body) = dapr.Raw.Single(r => Encoding.UTF8.GetString(r.Body).Contains(id, StringComparison.Ordinal));
        Assert.Equal(JsonSerializer.SerializeToUtf8Bytes(new Order(id), JsonSerializerOptions.Web), body);
        // What daprd makes of a raw message: its bytes as data_base64, typed application/octet-stream (not the publisher's JSON envelope).
        Assert.Equal("application/octet-stream", contentType);
    }

    [Fact]
    public async Task A_CloudEvent_publish_reaches_a_rawPayload_subscriber_as_the_whole_CloudEvent()
    {
        var id = "ce-" + Guid.NewGuid().ToString("N");

        await dapr.Client.PublishEventAsync("pubsub", "raw-topic", new Order(id), Cancel);

        await TestSupport.EventuallyAsync(() => dapr.Raw.Any(r => Encoding.UTF8.GetString(r.Body).Contains(id, StringComparison.Ordinal)), "the message");
        using var envelope = JsonDocument.Parse(dapr.Raw.Single(r => Encoding.UTF8.GetString(r.Body).Contains(id, StringComparison.Ordinal)).Body);
        Assert.Equal("1.0", envelope.RootElement.GetProperty("specversion").GetString());
        Assert.Equal(PubSubOptionsFixture.AppId, envelope.RootElement.GetProperty("source").GetString());
        Assert.Equal(id, envelope.RootElement.GetProperty("data").GetProperty("id").GetString());
    }

    [Fact]
    public async Task A_bulk_subscriber_gets_Dapr_bulk_requests_and_each_entry_status_counts_on_its_own()
    {
        string[] ids = ["bulk-a", "bulk-b", "flaky", "poison", "bulk-c"];

        await Task.WhenAll(ids.Select(id => dapr.Client.PublishEventAsync("pubsub", "bulk-topic", new Order(id), Cancel)));

        await TestSupport.EventuallyAsync(() => dapr.BulkEntries.Count(e => e == "flaky") == 2 && ids.All(dapr.BulkEntries.Contains), "every entry, the retried one twice");
        await using var command = dapr.Host.Runtime.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            "SELECT cloud_event->'data'->>'id' FROM pubsub_dead_letters WHERE app_id = @app AND topic = 'bulk-topic'");
        command.Parameters.AddWithValue("app", PubSubOptionsFixture.AppId);
        Assert.Equal("poison", await command.ExecuteScalarAsync(Cancel));
        Assert.Equal(ids.Length + 1, dapr.BulkRequestSizes.Sum());
        await TestSupport.EventuallyAsync(async () => await PendingAsync() == 0, "every entry acknowledged or dead-lettered");
    }

    [Fact]
    public async Task A_new_consumer_group_starts_at_the_newest_message_unless_the_component_says_oldest()
    {
        var before = "before-" + Guid.NewGuid().ToString("N");
        var after = "after-" + Guid.NewGuid().ToString("N");
        var partition = new Dictionary<string, string> { ["partitionKey"] = "late" };
        foreach (var pubsub in new[] { "pubsub", "oldest-pubsub" })
        {
            await dapr.Client.PublishEventAsync(pubsub, "late-topic", new Order(before), partition, Cancel);
        }

        var received = new ConcurrentQueue<(string Pubsub, string Id)>();
        var port = PortAllocator.FreePort();
        await using var late = await TestApp.StartAsync(port, web =>
        {
            web.UseCloudEvents();
            web.MapSubscribeHandler();
            web.MapPost("/newest", [Topic("pubsub", "late-topic")] (Order order) => received.Enqueue(("pubsub", order.Id)));
            web.MapPost("/oldest", [Topic("oldest-pubsub", "late-topic")] (Order order) => received.Enqueue(("oldest-pubsub", order.Id)));
        });
        await dapr.Host.Runtime.AddSidecarAsync(new AppDescriptor("late-subscriber", port, AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort()), Cancel);
        await TestSupport.EventuallyAsync(async () => await ConsumerGroupsAsync("late-subscriber") == 2, "both consumer groups created");

        foreach (var pubsub in new[] { "pubsub", "oldest-pubsub" })
        {
            await dapr.Client.PublishEventAsync(pubsub, "late-topic", new Order(after), partition, Cancel);
        }

        await TestSupport.EventuallyAsync(() => received.Count(r => r.Id == after) == 2, "the later message on both");
        Assert.Equal([before, after], received.Where(r => r.Pubsub == "oldest-pubsub").Select(r => r.Id));
        Assert.Equal([after], received.Where(r => r.Pubsub == "pubsub").Select(r => r.Id));
    }

    private async Task<long> PendingAsync()
    {
        await using var command = dapr.Host.Runtime.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            "SELECT count(*) FROM pubsub_pending WHERE app_id = @app AND topic = 'bulk-topic'");
        command.Parameters.AddWithValue("app", PubSubOptionsFixture.AppId);
        return (long)(await command.ExecuteScalarAsync(Cancel))!;
    }

    private async Task<long> ConsumerGroupsAsync(string appId)
    {
        await using var command = dapr.Host.Runtime.Services.GetRequiredService<NpgsqlDataSource>().CreateCommand(
            "SELECT count(*) FROM pubsub_consumer_offsets WHERE app_id = @app");
        command.Parameters.AddWithValue("app", appId);
        return (long)(await command.ExecuteScalarAsync(Cancel))!;
    }
}
