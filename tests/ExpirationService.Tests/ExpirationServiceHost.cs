using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Dapr.Actors.Client;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.ExpirationService;
using TicketSaga.Runtime.Actors;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.ExpirationService.Tests;

/// <summary>An expiration as order-service receives it: the CloudEvent id and the data.</summary>
public sealed record ReceivedExpiration(string CloudEventId, ExpirationComplete Data);

/// <summary>An expiration as the runtime's durable pub/sub log holds it.</summary>
public sealed record LoggedExpiration(string MessageId, string PartitionKey, string Source);

/// <summary>
/// The embedded runtime (repository components) with the real expiration-service on Kestrel and its
/// sidecar, plus a stand-in for order-service: it publishes the order events and records every
/// expiration.order.expiration_complete delivered to it.
/// </summary>
public sealed class ExpirationServiceHost : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private readonly ConcurrentQueue<ReceivedExpiration> _received = new();
    private readonly string _runtimeDatabase;
    private EmbeddedRuntime _runtime = null!;
    private WebApplication _orderService = null!;
    private DaprClient _orderServiceDapr = null!;
    private ServiceHost<Program> _expirationService = null!;
    private bool _running;

    private ExpirationServiceHost(string runtimeDatabase) => _runtimeDatabase = runtimeDatabase;

    /// <summary>The shared resources only: no pub/sub component, so every publish fails.</summary>
    public static IReadOnlyList<string> WithoutPubSub { get; } = [Repository.SharedComponents];

    public Uri ExpirationServiceAddress => _expirationService.Address;

    public IReadOnlyList<ReceivedExpiration> Received => [.. _received];

    public static async Task<ExpirationServiceHost> StartAsync(PostgresServer postgres) =>
        await StartAsync(await postgres.CreateDatabaseAsync("expiration_runtime"), Repository.EmbeddedResources);

    /// <summary>Starts everything on an existing runtime database (a restart keeps the reminders there).</summary>
    public static async Task<ExpirationServiceHost> StartAsync(string runtimeDatabase, IReadOnlyList<string> resourcesPaths)
    {
        var host = new ExpirationServiceHost(runtimeDatabase);
        await host.StartRuntimeAsync(resourcesPaths);
        return host;
    }

    public Task CreatedAsync(Guid orderId, DateTimeOffset expiresAt) => PublishAsync(Topics.OrderCreated, orderId,
        new OrderCreated(orderId, "user-1", Guid.NewGuid(), 2, [], 5000, "EUR", expiresAt, DateTimeOffset.UtcNow));

    /// <summary>An orders.order.created whose data names no order; returns its CloudEvent id.</summary>
    public async Task<string> CreatedWithoutOrderIdAsync(DateTimeOffset expiresAt)
    {
        var messageId = Guid.NewGuid().ToString();
        await _orderServiceDapr.PublishEventAsync(Topics.PubSub, Topics.OrderCreated, new { expiresAt },
            new Dictionary<string, string> { ["partitionKey"] = messageId, ["cloudevent.id"] = messageId });
        return messageId;
    }

    /// <summary>Waits (generous bound) until the runtime recorded the message as a dead letter of expiration-service.</summary>
    public async Task<DeadLetter> DeadLetterOfAsync(string messageId)
    {
        await using var dataSource = NpgsqlDataSource.Create(_runtimeDatabase);
        var deadLetters = new DeadLetters(dataSource);
        return await EventuallyAsync(
            async () => (await deadLetters.ListAsync(AppIds.ExpirationService)).FirstOrDefault(d => d.MessageId == messageId),
            $"dead letter of message {messageId}");
    }

    /// <summary>Whether a message with this CloudEvent id was published on the topic (a dead-letter topic included).</summary>
    public async Task<bool> PublishedOnAsync(string topic, string messageId)
    {
        await using var connection = new NpgsqlConnection(_runtimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM pubsub_messages WHERE topic = @topic AND message_id = @id)", connection);
        command.Parameters.AddWithValue("topic", topic);
        command.Parameters.AddWithValue("id", messageId);
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    public Task CompletedAsync(Guid orderId) =>
        PublishAsync(Topics.OrderCompleted, orderId, new OrderCompleted(orderId, "user-1", DateTimeOffset.UtcNow));

    public Task CancelledAsync(Guid orderId) =>
        PublishAsync(Topics.OrderCancelled, orderId, new OrderCancelled(orderId, "user-1", CancellationReasons.CancelledByCustomer, DateTimeOffset.UtcNow));

    /// <summary>The order's timer actor, called through expiration-service's sidecar as the service itself does.</summary>
    public IReservationTimer TimerOf(Guid orderId) => ActorProxy.Create<IReservationTimer>(
        ReservationTimer.IdOf(orderId), nameof(ReservationTimer),
        new ActorProxyOptions { HttpEndpoint = $"http://127.0.0.1:{_expirationService.App.HttpPort}" });

    public IReadOnlyList<ReceivedExpiration> ReceivedFor(Guid orderId) => [.. _received.Where(e => e.Data.OrderId == orderId)];

    /// <summary>Waits (generous bound) until order-service received an expiration of the order.</summary>
    public Task<ReceivedExpiration> ExpirationOfAsync(Guid orderId) =>
        EventuallyAsync(() => Task.FromResult(_received.FirstOrDefault(e => e.Data.OrderId == orderId)), $"expiration of order {orderId}");

    /// <summary>Every expiration of the order ever published, from the runtime's pub/sub log.</summary>
    public async Task<IReadOnlyList<LoggedExpiration>> LoggedExpirationsAsync(Guid orderId)
    {
        await using var connection = new NpgsqlConnection(_runtimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT message_id, partition_key, cloud_event ->> 'source' FROM pubsub_messages
            WHERE topic = @topic AND cloud_event -> 'data' ->> 'orderId' = @order ORDER BY seq
            """, connection);
        command.Parameters.AddWithValue("topic", Topics.ExpirationComplete);
        command.Parameters.AddWithValue("order", orderId.ToString());
        var logged = new List<LoggedExpiration>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            logged.Add(new LoggedExpiration(reader.GetString(0), reader.GetString(1), reader.GetString(2)));
        }

        return logged;
    }

    /// <summary>When the runtime deletes the timer's record of how the order's hold ended; null while it has none.</summary>
    public async Task<DateTimeOffset?> OutcomeExpiresAtAsync(Guid orderId)
    {
        await using var connection = new NpgsqlConnection(_runtimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT expires_at FROM actor_state WHERE actor_type = 'ReservationTimer' AND actor_id = @order AND key = 'outcome'", connection);
        command.Parameters.AddWithValue("order", orderId.ToString());
        return await command.ExecuteScalarAsync() as DateTime? is { } expiresAt ? new DateTimeOffset(expiresAt, TimeSpan.Zero) : null;
    }

    /// <summary>When the order's hold reminder was last registered; null when it has none.</summary>
    public async Task<DateTimeOffset?> ReminderRegisteredAtAsync(Guid orderId)
    {
        await using var connection = new NpgsqlConnection(_runtimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT registered_at FROM actor_reminders WHERE actor_type = @type AND actor_id = @id AND name = @name", connection);
        command.Parameters.AddWithValue("type", nameof(ReservationTimer));
        command.Parameters.AddWithValue("id", orderId.ToString());
        command.Parameters.AddWithValue("name", ReservationTimer.ExpireHold);
        return await command.ExecuteScalarAsync() is DateTime registeredAt ? new DateTimeOffset(registeredAt, TimeSpan.Zero) : null;
    }

    /// <summary>Waits until expiration-service has acknowledged every order event published so far.</summary>
    public Task OrderEventsHandledAsync() => EventuallyAsync(
        async () => await OrderEventsDeliveredAsync() ? "handled" : null, "expiration-service acknowledging every order event");

    /// <summary>Waits until the order has no hold reminder (left).</summary>
    public Task ReminderGoneAsync(Guid orderId) => EventuallyAsync(
        async () => await ReminderRegisteredAtAsync(orderId) is null ? "gone" : null, $"reminder of order {orderId} removed");

    /// <summary>
    /// True once expiration-service has acknowledged every order event published so far (nothing
    /// pending, its consumer offsets at the end of each topic).
    /// </summary>
    private async Task<bool> OrderEventsDeliveredAsync()
    {
        await using var connection = new NpgsqlConnection(_runtimeDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT NOT EXISTS (SELECT 1 FROM pubsub_pending WHERE app_id = @app)
               AND NOT EXISTS (
                   SELECT 1 FROM pubsub_messages m
                   WHERE m.topic = ANY(@topics) AND m.seq > COALESCE(
                       (SELECT o.last_seq FROM pubsub_consumer_offsets o
                        WHERE o.app_id = @app AND o.pubsub_name = m.pubsub_name AND o.topic = m.topic), 0))
            """, connection);
        command.Parameters.AddWithValue("app", AppIds.ExpirationService);
        command.Parameters.AddWithValue("topics", new[] { Topics.OrderCreated, Topics.OrderCompleted, Topics.OrderCancelled });
        return (bool)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Stops the apps and the runtime, as a crash of the whole machine would (the database stays).</summary>
    public async Task StopAsync()
    {
        if (!_running)
        {
            return;
        }

        _running = false;
        await _expirationService.DisposeAsync();
        _orderServiceDapr.Dispose();
        await _orderService.StopAsync();
        await _orderService.DisposeAsync();
        await _runtime.DisposeAsync();
    }

    /// <summary>Starts a new runtime, order-service stand-in and expiration-service on the same database.</summary>
    public Task StartAgainAsync(IReadOnlyList<string> resourcesPaths) => StartRuntimeAsync(resourcesPaths);

    /// <summary>Waits until <paramref name="probe"/> answers something (a generous bound, not a timing assertion).</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T?>> probe, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            if (await probe() is { } found)
            {
                return found;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();

    private async Task StartRuntimeAsync(IReadOnlyList<string> resourcesPaths)
    {
        _runtime = await EmbeddedRuntime.StartAsync(TestRuntime.Options(_runtimeDatabase, resourcesPaths), NullLoggerFactory.Instance);

        var orderService = new AppDescriptor(AppIds.OrderService, PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());
        await _runtime.AddSidecarAsync(orderService);
        _orderService = await StartOrderServiceAsync(orderService.AppPort);
        _orderServiceDapr = new DaprClientBuilder()
            .UseHttpEndpoint($"http://127.0.0.1:{orderService.HttpPort}")
            .UseGrpcEndpoint($"http://127.0.0.1:{orderService.GrpcPort}")
            .Build();

        _expirationService = await ServiceHost.StartAsync<Program>(_runtime, AppIds.ExpirationService, AppChannelProtocol.Http, new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Warning",
        });
        _running = true;
        await _runtime.Services.GetRequiredService<ActorPlacement>().WhenDiscoveredAsync(AppIds.ExpirationService).WaitAsync(TimeSpan.FromSeconds(30));
    }

    /// <summary>Stands in for order-service's subscriber: records the CloudEvent id and data of every expiration.</summary>
    private async Task<WebApplication> StartOrderServiceAsync(int port)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        app.MapPost("/events/" + Topics.ExpirationComplete, async (HttpRequest request) =>
        {
            using var envelope = await JsonDocument.ParseAsync(request.Body);
            var data = envelope.RootElement.GetProperty("data").Deserialize<ExpirationComplete>(Web)!;
            _received.Enqueue(new ReceivedExpiration(envelope.RootElement.GetProperty("id").GetString()!, data));
            return Results.Ok();
        });
        await app.StartAsync();
        return app;
    }

    private Task PublishAsync<T>(string topic, Guid orderId, T data) =>
        _orderServiceDapr.PublishEventAsync(Topics.PubSub, topic, data, new Dictionary<string, string> { ["partitionKey"] = orderId.ToString() });

}

/// <summary>One runtime and service for a test class whose tests each use their own order ids.</summary>
public sealed class ExpirationServiceFixture(PostgresServer postgres) : IAsyncLifetime
{
    public ExpirationServiceHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Host = await ExpirationServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => Host?.DisposeAsync() ?? ValueTask.CompletedTask;
}
