extern alias TicketServiceApp;
extern alias VenueServiceApp;

using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Events;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.Outbox;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;
using TicketProgram = TicketServiceApp::Program;
using VenueProgram = VenueServiceApp::Program;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.OrderService.Tests;

/// <summary>
/// The order saga's world on one embedded runtime: the real ticket-service and venue-service (gRPC apps)
/// and order-service (HTTP), each on its own database and sidecar, plus sidecars for payment-service and
/// expiration-service from which the tests publish what those services will publish (payment-service's
/// with a stand-in behind it that answers its payment attempts).
/// </summary>
public class SagaSystem(PostgresServer postgres) : IAsyncLifetime
{
    /// <summary>Long enough that no hold expires by itself during a test: expiry is driven by events.</summary>
    public static readonly TimeSpan HoldDuration = TimeSpan.FromMinutes(5);

    private readonly AuthSettings _auth = new() { SigningKey = DevTokens.NewSigningKey() };
    private string _runtimeConnectionString = "";
    private ServiceHost<TicketProgram> _tickets = null!;
    private ServiceHost<VenueProgram> _venues = null!;
    private GrpcChannel _ticketChannel = null!;
    private GrpcChannel _venueChannel = null!;
    private AppDescriptor _paymentApp = null!;
    private AppDescriptor _expirationApp = null!;

    public EmbeddedRuntime Runtime { get; private set; } = null!;

    /// <summary>How order-service reaches its database (a system may put something in between).</summary>
    protected virtual string OrderServiceConnection(string ordersDatabase) => ordersDatabase;

    public ServiceHost<Program> Orders { get; private set; } = null!;

    public string OrdersDatabase { get; private set; } = "";

    public string TicketsDatabase { get; private set; } = "";

    public string VenuesDatabase { get; private set; } = "";

    public Tickets.TicketsClient TicketClient { get; private set; } = null!;

    public Venues.VenuesClient VenueClient { get; private set; } = null!;

    /// <summary>What payment-service's sidecar would be given; the tests publish its events through it.</summary>
    public DaprClient PaymentService { get; private set; } = null!;

    public DaprClient ExpirationService { get; private set; } = null!;

    /// <summary>What payment-service answers order-service about an order's payment attempts (the timeline).</summary>
    public PaymentServiceDouble PaymentAttempts { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        _runtimeConnectionString = await postgres.CreateDatabaseAsync("order_runtime");
        OrdersDatabase = await postgres.CreateDatabaseAsync("orders");
        TicketsDatabase = await postgres.CreateDatabaseAsync("tickets");
        Runtime = await StartRuntimeAsync();
        _tickets = await ServiceHost.StartAsync<TicketProgram>(Runtime, AppIds.TicketService, AppChannelProtocol.Grpc, new Dictionary<string, string?>
        {
            ["ConnectionStrings:tickets"] = TicketsDatabase,
            ["Logging:LogLevel:Default"] = "Warning",
        });
        _venues = await ServiceHost.StartAsync<VenueProgram>(Runtime, AppIds.VenueService, AppChannelProtocol.Grpc, new Dictionary<string, string?>
        {
            ["ConnectionStrings:venues"] = VenuesDatabase = await postgres.CreateDatabaseAsync("venues"),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        Orders = await ServiceHost.StartAsync<Program>(Runtime, AppIds.OrderService, AppChannelProtocol.Http, new Dictionary<string, string?>
        {
            ["ConnectionStrings:orders"] = OrderServiceConnection(OrdersDatabase),
            ["Auth:SigningKey"] = _auth.SigningKey,
            ["Orders:HoldDuration"] = HoldDuration.ToString(),
            ["Orders:SettleWindow"] = "00:00:03",
            ["Orders:SweepInterval"] = "00:00:01",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Outbox:MaxBackoff"] = "00:00:00.500",
            // ORDER_TEST_LOG=Debug shows the service's (and the workflow worker's) logs when a test needs explaining.
            ["Logging:LogLevel:Default"] = Environment.GetEnvironmentVariable("ORDER_TEST_LOG") ?? "Warning",
        });
        _ = Orders.Services;
        _ticketChannel = GrpcChannel.ForAddress(_tickets.Address);
        _venueChannel = GrpcChannel.ForAddress(_venues.Address);
        TicketClient = new Tickets.TicketsClient(_ticketChannel);
        VenueClient = new Venues.VenuesClient(_venueChannel);
        _paymentApp = NewApp(AppIds.PaymentService);
        _expirationApp = NewApp(AppIds.ExpirationService);
        PaymentAttempts = await PaymentServiceDouble.StartAsync(_paymentApp);
        await AddPublisherSidecarsAsync();
    }

    /// <summary>
    /// Stops the runtime (every sidecar and workflow engine; the workflows stay in its database) while the apps keep
    /// running; <paramref name="whileDown"/> runs then; a new runtime on the same database gets the same sidecars.
    /// </summary>
    public async Task RestartRuntimeAsync(Func<Task> whileDown)
    {
        await Runtime.DisposeAsync();
        PaymentService.Dispose();
        ExpirationService.Dispose();
        await whileDown();
        Runtime = await StartRuntimeAsync();
        foreach (var app in new[] { _tickets.App, _venues.App, Orders.App })
        {
            await Runtime.AddSidecarAsync(app);
        }

        await AddPublisherSidecarsAsync();
    }

    public HttpClient Customer(string userId)
    {
        var http = new HttpClient { BaseAddress = Orders.Address };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DevTokens.Create(_auth, userId, TimeSpan.FromHours(1)));
        return http;
    }

    public OrderStore OrderStore => Orders.Services.GetRequiredService<OrderStore>();

    public OutboxRelay Relay => Orders.Services.GetRequiredService<OutboxRelay>();

    public async Task<TicketType> GeneralAdmissionAsync(int capacity = 10, int maxPerUser = 4, long priceMinor = 4_500) =>
        await TicketClient.CreateTicketTypeAsync(TicketType(capacity, maxPerUser, priceMinor, "", ""));

    /// <summary>A seat plan with one section "Floor" of rows A and B (4 seats each) and its ticket type.</summary>
    public async Task<(TicketType Ticket, SeatPlan Plan)> SeatedAsync(long priceMinor = 7_000, int maxPerUser = 8)
    {
        var plan = await VenueClient.CreateSeatPlanAsync(new CreateSeatPlanRequest
        {
            EventId = Guid.CreateVersion7().ToString(),
            Name = "Hall",
            Sections = { new SectionLayout { Name = "Floor", Rows = { new RowLayout { Label = "A", Seats = 4 }, new RowLayout { Label = "B", Seats = 4 } } } },
        });
        var ticket = await TicketClient.CreateTicketTypeAsync(TicketType(8, maxPerUser, priceMinor, plan.PlanId, "Floor"));
        return (ticket, plan);
    }

    public async Task<Availability> AvailabilityAsync(TicketType ticket) =>
        (await TicketClient.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = ticket.TicketId })).Availability;

    /// <summary>Why ticket-service and venue-service released the holds of this ticket type and plan (one order each).</summary>
    public async Task<(string? Quota, string? Seats)> ReleaseReasonsAsync(TicketType ticket, SeatPlan plan) =>
        (await ScalarAsync<string>(TicketsDatabase, "SELECT release_reason FROM reservations WHERE ticket_id = $1", Guid.Parse(ticket.TicketId)),
         await ScalarAsync<string>(VenuesDatabase, "SELECT release_reason FROM seat_reservations WHERE plan_id = $1", Guid.Parse(plan.PlanId)));

    /// <summary>order-service's handler of saga signals, as it answers when its clock reads <paramref name="now"/>.</summary>
    public OrderSignals SignalsAt(DateTimeOffset now) =>
        new(OrderStore, Orders.Services.GetRequiredService<OrderSagas>(), new FakeTimeProvider(now), NullLogger<OrderSignals>.Instance);

    /// <summary>How many signals were raised to the order's saga: waiting in the runtime's database or already in its history.</summary>
    public async Task<long> SignalsRaisedAsync(string orderId) =>
        await ScalarAsync<long>(_runtimeConnectionString,
            """
            SELECT (SELECT count(*) FROM workflow_events WHERE instance_id = $1 AND message LIKE '%EventRaisedEvent%')
                 + (SELECT count(*) FROM workflow_instances i, regexp_matches(i.history, 'EventRaisedEvent', 'g') WHERE i.instance_id = $1)
            """, orderId);

    /// <summary>One value read straight from a service's database (<c>$1</c> = <paramref name="parameter"/>).</summary>
    public static async Task<T?> ScalarAsync<T>(string database, string sql, object parameter)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection) { Parameters = { new() { Value = parameter } } };
        return (T?)await command.ExecuteScalarAsync();
    }

    public async Task<Dictionary<string, Seat>> SeatsAsync(SeatPlan plan) =>
        (await VenueClient.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId })).Seats.ToDictionary(s => s.SeatId);

    public static async Task<JsonElement> PlaceAsync(HttpClient customer, object body, System.Net.HttpStatusCode expected = System.Net.HttpStatusCode.Created)
    {
        using var response = await customer.PostAsJsonAsync("/orders", body);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == expected, $"Expected {expected}, got {(int)response.StatusCode}: {json}");
        return json;
    }

    public static async Task<JsonElement> GetOrderAsync(HttpClient customer, string orderId) =>
        await customer.GetFromJsonAsync<JsonElement>($"/orders/{orderId}");

    public static async Task WaitForStatusAsync(HttpClient customer, string orderId, string status) =>
        await Eventually.HoldsAsync(async () => (await GetOrderAsync(customer, orderId)).GetProperty("status").GetString() == status,
            $"order {orderId} to become {status}");

    /// <summary>A payment of exactly what the order costs, as payment-service publishes it.</summary>
    /// <param name="capturedAt">When Stripe captured the money; now when not given.</param>
    public async Task PublishPaymentAsync(string orderId, string messageId, DateTimeOffset? capturedAt = null)
    {
        var order = await OrderStore.GetAsync(Guid.Parse(orderId), default) ?? throw new InvalidOperationException($"No order {orderId}.");
        await PublishPaymentAsync(orderId, messageId, order.AmountMinor, order.Currency, capturedAt);
    }

    public Task PublishPaymentAsync(string orderId, string messageId, long amountMinor, string currency, DateTimeOffset? capturedAt = null) =>
        PaymentService.PublishEventAsync(Topics.PubSub, Topics.PaymentSucceeded,
            new PaymentSucceeded(Guid.Parse(orderId), Guid.CreateVersion7(), "pi_" + Guid.NewGuid().ToString("N"), amountMinor, currency,
                capturedAt ?? DateTimeOffset.UtcNow),
            new Dictionary<string, string> { ["cloudevent.id"] = messageId, ["partitionKey"] = orderId });

    /// <summary>A refund as payment-service publishes it: the whole amount unless <paramref name="amountMinor"/> says otherwise.</summary>
    public async Task PublishRefundAsync(string orderId, string messageId, long? amountMinor = null)
    {
        var order = await OrderStore.GetAsync(Guid.Parse(orderId), default) ?? throw new InvalidOperationException($"No order {orderId}.");
        await PaymentService.PublishEventAsync(Topics.PubSub, Topics.PaymentRefunded,
            new PaymentRefunded(order.OrderId, Guid.CreateVersion7(), "pi_" + Guid.NewGuid().ToString("N"), "re_" + Guid.NewGuid().ToString("N"),
                amountMinor ?? order.AmountMinor, order.Currency, DateTimeOffset.UtcNow),
            new Dictionary<string, string> { ["cloudevent.id"] = messageId, ["partitionKey"] = orderId });
    }

    /// <summary>The order's expiry as its timer publishes it, whenever the test says it fires.</summary>
    public async Task PublishExpiryAsync(string orderId, string messageId) =>
        await ExpirationService.PublishEventAsync(Topics.PubSub, Topics.ExpirationComplete,
            new ExpirationComplete(Guid.Parse(orderId), (await OrderStore.GetAsync(Guid.Parse(orderId), default))!.ExpiresAt),
            new Dictionary<string, string> { ["cloudevent.id"] = messageId, ["partitionKey"] = orderId });

    /// <summary>Waits (generous bound) until the runtime recorded the message as a dead letter of order-service.</summary>
    public async Task<DeadLetter> DeadLetterOfAsync(string messageId)
    {
        await using var dataSource = NpgsqlDataSource.Create(_runtimeConnectionString);
        var deadLetters = new DeadLetters(dataSource);
        return (await Eventually.ReturnsAsync(
            async () => (await deadLetters.ListAsync(AppIds.OrderService)).FirstOrDefault(d => d.MessageId == messageId),
            deadLetter => deadLetter is not null, $"dead letter of message {messageId}"))!;
    }

    /// <summary>What order-service published for an order, in the runtime's log order.</summary>
    public async Task<List<PublishedEvent>> PublishedAsync(string orderId)
    {
        await using var connection = new NpgsqlConnection(_runtimeConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT topic, message_id, partition_key, cloud_event->'data' FROM pubsub_messages
            WHERE topic LIKE 'orders.%' AND cloud_event->'data'->>'orderId' = @order ORDER BY seq
            """, connection);
        command.Parameters.AddWithValue("order", orderId);
        var events = new List<PublishedEvent>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            events.Add(new PublishedEvent(reader.GetString(0), reader.GetString(1), reader.GetString(2), JsonDocument.Parse(reader.GetString(3)).RootElement));
        }

        return events;
    }

    /// <summary>The order's outbox rows (id, topic, published), in seq order.</summary>
    public async Task<List<(Guid Id, string Topic, bool Published)>> OutboxAsync(string orderId)
    {
        await using var connection = new NpgsqlConnection(OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT id, topic, published_at IS NOT NULL FROM outbox WHERE order_id = @order ORDER BY seq", connection);
        command.Parameters.AddWithValue("order", Guid.Parse(orderId));
        var rows = new List<(Guid, string, bool)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            rows.Add((reader.GetGuid(0), reader.GetString(1), reader.GetBoolean(2)));
        }

        return rows;
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore();
        GC.SuppressFinalize(this);
    }

    protected virtual async ValueTask DisposeAsyncCore()
    {
        PaymentService?.Dispose();
        ExpirationService?.Dispose();
        _ticketChannel?.Dispose();
        _venueChannel?.Dispose();
        foreach (var host in new IAsyncDisposable?[] { Orders, _tickets, _venues, PaymentAttempts, Runtime })
        {
            if (host is not null)
            {
                await host.DisposeAsync();
            }
        }
    }

    private async Task AddPublisherSidecarsAsync()
    {
        await Runtime.AddSidecarAsync(_paymentApp);
        await Runtime.AddSidecarAsync(_expirationApp);
        PaymentService = Client(_paymentApp);
        ExpirationService = Client(_expirationApp);
    }

    private static DaprClient Client(AppDescriptor app) => new DaprClientBuilder()
        .UseHttpEndpoint($"http://127.0.0.1:{app.HttpPort}")
        .UseGrpcEndpoint($"http://127.0.0.1:{app.GrpcPort}")
        .Build();

    private static AppDescriptor NewApp(string appId) =>
        new(appId, PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());

    private Task<EmbeddedRuntime> StartRuntimeAsync() =>
        EmbeddedRuntime.StartAsync(TestRuntime.Options(_runtimeConnectionString), NullLoggerFactory.Instance);


    private static CreateTicketTypeRequest TicketType(int capacity, int maxPerUser, long priceMinor, string planId, string section) => new()
    {
        EventId = Guid.CreateVersion7().ToString(),
        Name = section.Length == 0 ? "General admission" : section,
        Capacity = capacity,
        UnitPrice = new Money { AmountMinor = priceMinor, Currency = "EUR" },
        MaxPerUser = maxPerUser,
        SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
        SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)),
        SeatPlanId = planId,
        Section = section,
    };
}

public sealed record PublishedEvent(string Topic, string MessageId, string PartitionKey, JsonElement Data)
{
    public string? Reason => Data.TryGetProperty("reason", out var reason) ? reason.GetString() : null;
}
