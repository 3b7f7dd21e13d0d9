using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.PaymentService.Tests;

/// <summary>A received CloudEvent: its id and data.</summary>
public sealed record ReceivedEvent(string Topic, string Id, JsonElement Data)
{
    public Guid OrderId => Data.GetProperty("orderId").GetGuid();
}

/// <summary>
/// Stands in for order-service (built elsewhere) under its app id: publishes the order events it
/// would publish through its own sidecar, records the payment events delivered to it, and answers
/// <c>GET /orders/{id}</c> for the orders it knows and <c>GET /internal/orders/{id}</c> with their status.
/// </summary>
public sealed class OrderServiceDouble : IAsyncDisposable
{
    private readonly WebApplication _web;

    private OrderServiceDouble(WebApplication web, DaprClient dapr)
    {
        _web = web;
        Dapr = dapr;
    }

    public DaprClient Dapr { get; }

    public ConcurrentDictionary<Guid, byte> KnownOrders { get; } = new();

    /// <summary>What <c>GET /internal/orders/{id}</c> answers as the order's status (unknown: 404).</summary>
    public ConcurrentDictionary<Guid, string> Statuses { get; } = new();

    /// <summary>Why an order ended, as <c>GET /internal/orders/{id}</c> answers it.</summary>
    public ConcurrentDictionary<Guid, string> Reasons { get; } = new();

    /// <summary>Whose order it is and what it costs, as <c>GET /internal/orders/{id}</c> answers it.</summary>
    public ConcurrentDictionary<Guid, OrderCreated> Details { get; } = new();

    public ConcurrentQueue<ReceivedEvent> Received { get; } = new();

    public static async Task<OrderServiceDouble> StartAsync(EmbeddedRuntime runtime)
    {
        var app = new AppDescriptor(AppIds.OrderService, PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, app.AppPort));
        var web = builder.Build();
        var dapr = new DaprClientBuilder()
            .UseHttpEndpoint($"http://127.0.0.1:{app.HttpPort}")
            .UseGrpcEndpoint($"http://127.0.0.1:{app.GrpcPort}")
            .Build();
        var double_ = new OrderServiceDouble(web, dapr);
        foreach (var topic in new[] { Topics.PaymentSucceeded, Topics.PaymentRefunded })
        {
            web.MapPost("/events/" + topic, async (HttpRequest request) =>
            {
                var cloudEvent = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
                double_.Received.Enqueue(new ReceivedEvent(topic, cloudEvent.GetProperty("id").GetString()!, cloudEvent.GetProperty("data").Clone()));
                return Results.Ok();
            });
        }

        web.MapGet("/orders/{id:guid}", (Guid id) => double_.KnownOrders.ContainsKey(id) ? Results.Ok(new { order_id = id }) : Results.NotFound());
        web.MapGet("/internal/orders/{id:guid}", (Guid id) =>
            double_.Statuses.TryGetValue(id, out var status)
                ? Results.Ok(new
                {
                    order_id = id,
                    status,
                    cancellation_reason = double_.Reasons.GetValueOrDefault(id),
                    user_id = double_.Details.GetValueOrDefault(id)?.UserId,
                    amount_minor = double_.Details.GetValueOrDefault(id)?.AmountMinor,
                    currency = double_.Details.GetValueOrDefault(id)?.Currency,
                    expires_at = double_.Details.GetValueOrDefault(id)?.ExpiresAt,
                })
                : Results.NotFound());
        await web.StartAsync();
        await runtime.AddSidecarAsync(app);
        return double_;
    }

    /// <summary>What order-service records when an order ends unsold, before it publishes orders.order.cancelled.</summary>
    public void Ended(Guid orderId, string reason)
    {
        Reasons[orderId] = reason;
        Statuses[orderId] = reason == CancellationReasons.CancelledByCustomer ? OrderStatuses.Cancelled : OrderStatuses.Expired;
    }

    public IReadOnlyList<ReceivedEvent> EventsOf(Guid orderId, string topic) =>
        [.. Received.Where(e => e.Topic == topic && e.OrderId == orderId)];

    public Task PublishAsync<T>(string topic, Guid orderId, T data) =>
        Dapr.PublishEventAsync(Topics.PubSub, topic, data, new Dictionary<string, string> { ["partitionKey"] = orderId.ToString() });

    public async ValueTask DisposeAsync()
    {
        Dapr.Dispose();
        await _web.StopAsync();
        await _web.DisposeAsync();
    }
}
