using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;
using TicketSaga.ServiceDefaults;
using TicketSaga.StripeStub;
using TicketSaga.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.PaymentService.Tests;

/// <summary>
/// The real payment-service on real Kestrel with its sidecar on the embedded runtime (the repository's
/// components), its own database, the Stripe stub in-process (webhooks to the service), and a
/// stand-in order-service publishing order events. One world per test class; tests use their own orders.
/// </summary>
public class PaymentWorld(PostgresServer postgres) : IAsyncLifetime
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly AuthSettings _auth = new() { SigningKey = DevTokens.NewSigningKey() };

    public EmbeddedRuntime Runtime { get; private set; } = null!;

    public StubServer Stripe { get; } = new();

    public OrderServiceDouble Orders { get; private set; } = null!;

    public ServiceHost<Program> Payments { get; private set; } = null!;

    public string ConnectionString { get; private set; } = "";

    /// <summary>The embedded runtime's database (its dead-letter records).</summary>
    public string RuntimeConnectionString { get; private set; } = "";

    public async ValueTask InitializeAsync()
    {
        var runtimeDatabase = await postgres.CreateDatabaseAsync("runtime");
        RuntimeConnectionString = runtimeDatabase;
        ConnectionString = await postgres.CreateDatabaseAsync("payments");
        Runtime = await EmbeddedRuntime.StartAsync(TestRuntime.Options(runtimeDatabase), NullLoggerFactory.Instance);
        await Stripe.InitializeAsync();
        Orders = await OrderServiceDouble.StartAsync(Runtime);
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:payments"] = ConnectionString,
            ["Auth:SigningKey"] = _auth.SigningKey,
            ["Stripe:ApiKey"] = Stripe.Server.Options.ApiKey,
            ["Stripe:WebhookSecret"] = Stripe.Server.Options.WebhookSecret,
            ["Stripe:ApiBase"] = Stripe.Server.ApiBase,
            ["Logging:LogLevel:Default"] = "Warning",
            // Tests sit through outages of seconds: back off briefly.
            ["PaymentWork:InitialBackoff"] = "00:00:00.250",
            ["PaymentWork:MaxBackoff"] = "00:00:02",
        };
        foreach (var (key, value) in Settings)
        {
            settings[key] = value;
        }

        Payments = await ServiceHost.StartAsync<Program>(Runtime, AppIds.PaymentService, AppChannelProtocol.Http, settings);
        Stripe.Server.Events.WebhookUrl = new Uri(Payments.Address, "/payments/webhook");
    }

    /// <summary>payment-service settings a test class needs besides the world's own.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public StripeStubServer Stub => Stripe.Server;

    public HttpClient ClientFor(string? userId)
    {
        var client = new HttpClient { BaseAddress = Payments.Address };
        if (userId is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DevTokens.Create(_auth, userId, TimeSpan.FromHours(1)));
        }

        return client;
    }

    public static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>Publishes orders.order.created as order-service would and waits until the order is payable.</summary>
    public async Task<OrderCreated> CreateOrderAsync(string userId, long amountMinor = 4200, TimeSpan? holdFor = null, bool waitUntilPayable = true)
    {
        var now = DateTimeOffset.UtcNow;
        var order = new OrderCreated(Guid.CreateVersion7(), userId, Guid.NewGuid(), 2, [], amountMinor, "EUR", now + (holdFor ?? TimeSpan.FromMinutes(15)), now);
        Orders.KnownOrders[order.OrderId] = 0;
        await Orders.PublishAsync(Topics.OrderCreated, order.OrderId, order);
        if (waitUntilPayable)
        {
            await EventuallyAsync(async () => await PaymentStatusAsync(order.OrderId) is not null, "the payment row of the new order");
        }

        return order;
    }

    /// <summary>What order-service does when an order ends: the status first, then orders.order.cancelled.</summary>
    public Task CancelOrderAsync(OrderCreated order, string reason)
    {
        Orders.Ended(order.OrderId, reason);
        return Orders.PublishAsync(Topics.OrderCancelled, order.OrderId, new OrderCancelled(order.OrderId, order.UserId, reason, DateTimeOffset.UtcNow));
    }

    public async Task<HttpResponseMessage> ConfirmAsync(string userId, Guid orderId, string paymentMethod)
    {
        using var client = ClientFor(userId);
        return await client.PostAsJsonAsync("/payments/confirm", new { order_id = orderId, payment_method = paymentMethod });
    }

    /// <summary>A confirm Stripe carries out but whose answer is lost on the way back: 503, the attempt stays in flight.</summary>
    public async Task ConfirmWithAnswerLostAsync(string userId, Guid orderId, string paymentMethod)
    {
        Stub.Faults.LosingResponsesOf = StubFaults.Confirm;
        try
        {
            using var unanswered = await ConfirmAsync(userId, orderId, paymentMethod);
            await ResponseAssert.ProblemAsync(unanswered, HttpStatusCode.ServiceUnavailable, "payment-provider-unavailable");
        }
        finally
        {
            Stub.Faults.LosingResponsesOf = null;
        }
    }

    public async Task<string?> PaymentStatusAsync(Guid orderId) =>
        await ScalarAsync<string>("SELECT status FROM payments WHERE order_id = @order", orderId);

    public async Task<T?> ScalarAsync<T>(string sql, Guid orderId)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("order", orderId);
        return await command.ExecuteScalarAsync() is T value ? value : default;
    }

    /// <summary>Every row of every table that records money or messages, as text: equal snapshots mean nothing changed.</summary>
    public async Task<string> SnapshotAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT concat_ws(E'\n',
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM payments t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM payment_records t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM refunds t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM inbox t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM outbox t))
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Waits until every Stripe event was accepted by the webhook and every outbox row was published.</summary>
    public async Task QuiesceAsync()
    {
        await EventuallyAsync(() => Stub.Events.Events.All(e => Stub.Events.Deliveries.Any(d => d.EventId == e.Id && d.StatusCode == 200)), "every webhook accepted");
        await EventuallyAsync(async () => await ScalarAsync<long>("SELECT count(*) FROM outbox WHERE published_at IS NULL AND order_id <> @order", Guid.Empty) == 0, "the outbox drained");
    }

    public IReadOnlyList<PaymentIntentSnapshot> IntentsOf(Guid orderId) =>
        [.. Stub.Ledger.PaymentIntents.Where(i => i.Metadata.GetValueOrDefault("order_id") == orderId.ToString())];

    public static async Task EventuallyAsync(Func<Task<bool>> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"Timed out waiting for: {what}");
            }

            await Task.Delay(25);
        }
    }

    public static Task EventuallyAsync(Func<bool> condition, string what, int seconds = 30) =>
        EventuallyAsync(() => Task.FromResult(condition()), what, seconds);

    public static async Task<JsonElement> BodyAsync(HttpResponseMessage response) =>
        await response.Content.ReadFromJsonAsync<JsonElement>();

    public async ValueTask DisposeAsync()
    {
        if (Payments is not null)
        {
            await Payments.DisposeAsync();
        }

        if (Orders is not null)
        {
            await Orders.DisposeAsync();
        }

        if (Runtime is not null)
        {
            await Runtime.DisposeAsync();
        }

        await Stripe.DisposeAsync();
        GC.SuppressFinalize(this);
    }
}

public static class ResponseAssert
{
    /// <summary>The response is an RFC 9457 problem of the given status and type.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await PaymentWorld.BodyAsync(response);
        Assert.Equal("https://ticketsaga.dev/problems/" + type, problem.GetProperty("type").GetString());
        return problem;
    }
}
