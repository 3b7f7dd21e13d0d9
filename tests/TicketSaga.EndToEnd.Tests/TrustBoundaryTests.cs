using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr;
using Google.Protobuf.Reflection;
using Grpc.Core;
using Grpc.Net.Client;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;
using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>
/// The trust boundary, tried as an attacker on the same host would: an app answers only its own
/// sidecar (app API token), a sidecar only its own app (Dapr API token), and the Configuration's
/// accessControl and the pub/sub scopes decide who may call and publish what.
/// </summary>
[Collection(nameof(SystemTests))]
public sealed class TrustBoundaryTests(SystemUnderTest system)
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(b => b, b => b);

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-sidecars-token")]
    public async Task Forged_events_posted_straight_to_every_subscriber_route_are_refused_and_change_nothing(string? token)
    {
        var (orderId, amount) = await SettledOrderAsync();
        var before = await EffectsAsync();
        var resources = system.Runtime.Services.GetRequiredService<RuntimeResources>();
        using var http = new HttpClient();

        var refused = new List<string>();
        foreach (var appId in new[] { AppIds.OrderService, AppIds.PaymentService, AppIds.ExpirationService })
        {
            foreach (var subscription in resources.DeclarativeSubscriptionsFor(appId))
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(system.AppOf(appId).AppAddress, subscription.DefaultRoute))
                {
                    Content = JsonContent.Create(CloudEvent(subscription.Topic, orderId, amount)),
                };
                if (token is not null)
                {
                    request.Headers.Add(AppDescriptor.TokenHeader, token);
                }

                // 404: the app does not serve that route (yet), so nothing there can act on it.
                using var response = await http.SendAsync(request);
                Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound,
                    $"{appId} answered {(int)response.StatusCode} to a forged {subscription.Topic} on {subscription.DefaultRoute}");
                if (response.StatusCode != HttpStatusCode.NotFound)
                {
                    refused.Add($"{appId} {subscription.Topic}");
                }
            }
        }

        Assert.Contains($"{AppIds.OrderService} {Topics.PaymentSucceeded}", refused);
        Assert.Contains($"{AppIds.PaymentService} {Topics.OrderCancelled}", refused);
        Assert.Contains($"{AppIds.ExpirationService} {Topics.OrderCreated}", refused);
        Assert.Equal(before, await EffectsAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("not-the-sidecars-token")]
    public async Task Every_gRPC_method_of_ticket_and_venue_service_refuses_a_caller_without_the_app_token(string? token)
    {
        foreach (var (appId, service) in new[] { (AppIds.TicketService, Tickets.Descriptor), (AppIds.VenueService, Venues.Descriptor) })
        {
            using var channel = GrpcChannel.ForAddress(system.AppOf(appId).AppAddress);
            var invoker = channel.CreateCallInvoker();
            foreach (var method in service.Methods)
            {
                var metadata = new Metadata();
                if (token is not null)
                {
                    metadata.Add(AppDescriptor.TokenHeader, token);
                }

                var call = invoker.AsyncUnaryCall(Raw(service, method), null, new CallOptions(metadata), []);
                var refused = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
                Assert.True(refused.StatusCode is StatusCode.Unauthenticated or StatusCode.PermissionDenied,
                    $"{appId} answered {refused.StatusCode} to {method.FullName} without its sidecar's token");
            }
        }
    }

    [Fact]
    public async Task A_call_through_the_sidecar_from_an_app_that_access_control_does_not_allow_is_refused()
    {
        var seeded = await system.SeedEventAsync();
        var release = new ReleaseReservationRequest { ReservationId = Guid.NewGuid().ToString(), Reason = ReleaseReason.Expired };

        foreach (var caller in new[] { AppIds.Gateway, AppIds.ExpirationService, AppIds.PaymentService })
        {
            var tickets = new Tickets.TicketsClient(Dapr.Client.DaprClient.CreateInvocationInvoker(
                AppIds.TicketService, $"http://127.0.0.1:{system.AppOf(caller).GrpcPort}", system.AppOf(caller).DaprApiToken));
            var refused = await Assert.ThrowsAsync<RpcException>(() => tickets.ReleaseReservationAsync(release).ResponseAsync);
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
        }

        // The same path is open where the policy allows it: the gateway reads the catalog.
        var gateway = new Tickets.TicketsClient(Dapr.Client.DaprClient.CreateInvocationInvoker(
            AppIds.TicketService, $"http://127.0.0.1:{system.AppOf(AppIds.Gateway).GrpcPort}", system.AppOf(AppIds.Gateway).DaprApiToken));
        var listed = await gateway.ListTicketTypesAsync(new ListTicketTypesRequest { EventId = seeded.EventId });
        Assert.Equal(2, listed.TicketTypes.Count);

        // HTTP invocation too: payment-service may read an order, not place one.
        using var http = SidecarHttp(AppIds.PaymentService);
        using var placed = await http.PostAsJsonAsync($"/v1.0/invoke/{AppIds.OrderService}/method/orders", new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 });
        Assert.Equal(HttpStatusCode.Forbidden, placed.StatusCode);
    }

    [Fact]
    public async Task A_publish_to_a_topic_outside_the_apps_scope_is_refused_and_logs_nothing()
    {
        var (orderId, amount) = await SettledOrderAsync();
        var before = await MessagesOnAsync(Topics.PaymentSucceeded);

        // expiration-service may publish its own topic, not payment-service's.
        using var expiration = system.SidecarOf(AppIds.ExpirationService);
        var refused = await Assert.ThrowsAsync<DaprException>(() => expiration.PublishEventAsync(
            Topics.PubSub, Topics.PaymentSucceeded, new PaymentSucceeded(orderId, Guid.NewGuid(), "pi_forged", amount, "EUR", DateTimeOffset.UtcNow)));
        Assert.Equal(StatusCode.PermissionDenied, Assert.IsType<RpcException>(refused.InnerException).StatusCode);

        // order-service may not publish what payment-service says, over HTTP either.
        using var orders = SidecarHttp(AppIds.OrderService);
        using var published = await orders.PostAsJsonAsync($"/v1.0/publish/{Topics.PubSub}/{Topics.PaymentSucceeded}", new { orderId, amountMinor = amount });
        Assert.Equal(HttpStatusCode.Forbidden, published.StatusCode);

        Assert.Equal(before, await MessagesOnAsync(Topics.PaymentSucceeded));
    }

    [Fact]
    public async Task A_sidecar_refuses_calls_to_its_API_without_its_Dapr_API_token()
    {
        var orderService = system.AppOf(AppIds.OrderService);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{orderService.HttpPort}") };

        using var publish = await http.PostAsJsonAsync($"/v1.0/publish/{Topics.PubSub}/{Topics.OrderCreated}", new { orderId = Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.Unauthorized, publish.StatusCode);
        using var empty = new HttpRequestMessage(HttpMethod.Get, "/v1.0/metadata") { Headers = { { AppDescriptor.TokenHeader, "" } } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(empty)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz")).StatusCode);

        // gRPC invocation through the sidecar without the token: what the SDK sends when it has none.
        var tickets = new Tickets.TicketsClient(Dapr.Client.DaprClient.CreateInvocationInvoker(
            AppIds.TicketService, $"http://127.0.0.1:{orderService.GrpcPort}", daprApiToken: ""));
        var refused = await Assert.ThrowsAsync<RpcException>(() => tickets.ListTicketTypesAsync(new ListTicketTypesRequest()).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
    }

    /// <summary>A placed order whose fan-out is over, so that nothing changes unless something is let in.</summary>
    private async Task<(Guid OrderId, long Amount)> SettledOrderAsync()
    {
        var seeded = await system.SeedEventAsync();
        using var customer = system.NewCustomer();
        var order = await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 });
        var orderId = order.GetProperty("order_id").GetString()!;
        await customer.WaitForPaymentStatusAsync(orderId, "PENDING");
        await Eventually.HoldsAsync(async () => (await Snapshots.MessagesOfAsync(system, [orderId])).Count > 0, "orders.order.created published");
        var messages = await Snapshots.MessagesOfAsync(system, [orderId]);
        await Eventually.HoldsAsync(() => Snapshots.DeliveredUpToAsync(system, messages.Max(m => m.Seq), Topics.All), "orders.order.created delivered");
        return (Guid.Parse(orderId), order.GetProperty("amount").GetInt64());
    }

    /// <summary>What order-service and payment-service hold, and expiration-service's timers.</summary>
    private async Task<string> EffectsAsync()
    {
        await using var connection = new NpgsqlConnection(system.RuntimeDatabase);
        await connection.OpenAsync();
        await using var reminders = new NpgsqlCommand("SELECT count(*) FROM actor_reminders", connection);
        return await Snapshots.EffectsAsync(system) + "\nreminders: " + await reminders.ExecuteScalarAsync();
    }

    private async Task<long> MessagesOnAsync(string topic)
    {
        await using var connection = new NpgsqlConnection(system.RuntimeDatabase);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pubsub_messages WHERE topic = @topic", connection);
        count.Parameters.AddWithValue("topic", topic);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>An HTTP client of an app's sidecar, with the app's Dapr API token.</summary>
    private HttpClient SidecarHttp(string appId)
    {
        var app = system.AppOf(appId);
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{app.HttpPort}") };
        http.DefaultRequestHeaders.Add(AppDescriptor.TokenHeader, app.DaprApiToken);
        return http;
    }

    /// <summary>A well-formed CloudEvent of the topic about the order, as the sidecar would deliver it.</summary>
    private static Dictionary<string, object> CloudEvent(string topic, Guid orderId, long amount)
    {
        var now = DateTimeOffset.UtcNow;
        object data = topic switch
        {
            Topics.OrderCreated => new OrderCreated(orderId, "attacker", Guid.NewGuid(), 1, [], 1, "EUR", now.AddHours(1), now),
            Topics.OrderCompleted => new OrderCompleted(orderId, "attacker", now),
            Topics.OrderCancelled => new OrderCancelled(orderId, "attacker", CancellationReasons.CancelledByCustomer, now),
            Topics.PaymentSucceeded => new PaymentSucceeded(orderId, Guid.NewGuid(), "pi_forged", amount, "EUR", now),
            Topics.PaymentRefunded => new PaymentRefunded(orderId, Guid.NewGuid(), "pi_forged", "re_forged", amount, "EUR", now),
            Topics.ExpirationComplete => new ExpirationComplete(orderId, now),
            _ => throw new ArgumentOutOfRangeException(nameof(topic), topic, "no forged event for this topic"),
        };
        return new Dictionary<string, object>
        {
            ["specversion"] = "1.0",
            ["id"] = Guid.NewGuid().ToString(),
            ["source"] = "attacker",
            ["type"] = "com.dapr.event.sent",
            ["topic"] = topic,
            ["pubsubname"] = Topics.PubSub,
            ["datacontenttype"] = "application/json",
            ["data"] = JsonSerializer.SerializeToElement(data, EventJson.Options),
        };
    }

    private static Method<byte[], byte[]> Raw(Google.Protobuf.Reflection.ServiceDescriptor service, MethodDescriptor method) =>
        new(MethodType.Unary, service.FullName, method.Name, Bytes, Bytes);
}
