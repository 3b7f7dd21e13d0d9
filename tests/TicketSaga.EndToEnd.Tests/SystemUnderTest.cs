extern alias ExpirationServiceApp;
extern alias GatewayApp;
extern alias OrderServiceApp;
extern alias PaymentServiceApp;
extern alias TicketServiceApp;
extern alias VenueServiceApp;

using System.Net.Http.Headers;
using Dapr.Client;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;
using TicketSaga.ServiceDefaults;
using TicketSaga.StripeStub;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;
using ExpirationProgram = ExpirationServiceApp::Program;
using GatewayProgram = GatewayApp::Program;
using OrderProgram = OrderServiceApp::Program;
using PaymentProgram = PaymentServiceApp::Program;
using TicketProgram = TicketServiceApp::Program;
using VenueProgram = VenueServiceApp::Program;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.EndToEnd.Tests;

/// <summary>
/// The whole system on one embedded runtime (the repository's components): the six real services, each
/// on real Kestrel with its own sidecar and its own database, the Stripe stub in-process sending its
/// webhooks to the gateway, one development signing key. Tests drive it over HTTP through the gateway.
/// </summary>
public class SystemUnderTest(PostgresServer postgres) : IAsyncLifetime
{
    /// <summary>The saga's own timer ends an order this long after expires_at, should the expiry message be lost.</summary>
    public static readonly TimeSpan SettleWindow = TimeSpan.FromSeconds(1);

    private readonly AuthSettings _auth = new() { SigningKey = DevTokens.NewSigningKey() };
    private readonly List<IAsyncDisposable> _hosts = [];
    private GrpcChannel _ticketChannel = null!;
    private GrpcChannel _venueChannel = null!;
    private readonly Dictionary<string, AppDescriptor> _apps = [];

    /// <summary>How long a hold lasts. Long by default, so that nothing expires unless a test wants it to.</summary>
    public virtual TimeSpan HoldDuration => TimeSpan.FromMinutes(5);

    /// <summary>The one event whose waiting room admits a buyer every 8 s, for whoever wants to see buyers queue.</summary>
    public string QueuedEventId { get; } = Guid.CreateVersion7().ToString();

    /// <summary>How long the gateway waits for order-service or payment-service before answering 504.</summary>
    public virtual TimeSpan GatewayUpstreamTimeout => TimeSpan.FromSeconds(30);

    public EmbeddedRuntime Runtime { get; private set; } = null!;

    /// <summary>How every service validates tokens (the development signing key of this run).</summary>
    public AuthSettings Auth => _auth;

    public StripeStubServer Stripe { get; private set; } = null!;

    public ServiceHost<GatewayProgram> Gateway { get; private set; } = null!;

    public ServiceHost<OrderProgram> Orders { get; private set; } = null!;

    public string RuntimeDatabase { get; private set; } = "";

    public string OrdersDatabase { get; private set; } = "";

    public string PaymentsDatabase { get; private set; } = "";

    public Tickets.TicketsClient TicketClient { get; private set; } = null!;

    public Venues.VenuesClient VenueClient { get; private set; } = null!;

    public virtual async ValueTask InitializeAsync()
    {
        RuntimeDatabase = await postgres.CreateDatabaseAsync("e2e_runtime");
        Runtime = await EmbeddedRuntime.StartAsync(TestRuntime.Options(RuntimeDatabase, configFilePath: Repository.Configuration), NullLoggerFactory.Instance);
        Stripe = await StripeStubServer.StartAsync(new StripeStubOptions
        {
            Port = 0,
            ApiKey = StripeStubOptions.NewApiKey(),
            WebhookSecret = StripeStubOptions.NewWebhookSecret(),
            WebhookRetryDelays = [TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)],
        });
        _hosts.Add(Stripe);

        var tickets = await StartAsync<TicketProgram>(AppIds.TicketService, AppChannelProtocol.Grpc, new()
        {
            ["ConnectionStrings:tickets"] = await postgres.CreateDatabaseAsync("e2e_tickets"),
        });
        var venues = await StartAsync<VenueProgram>(AppIds.VenueService, AppChannelProtocol.Grpc, new()
        {
            ["ConnectionStrings:venues"] = await postgres.CreateDatabaseAsync("e2e_venues"),
        });
        OrdersDatabase = await postgres.CreateDatabaseAsync("e2e_orders");
        Orders = await StartAsync<OrderProgram>(AppIds.OrderService, AppChannelProtocol.Http, ValidatingTokens(AppIds.OrderService, new()
        {
            ["ConnectionStrings:orders"] = OrdersDatabase,
            ["Orders:HoldDuration"] = HoldDuration.ToString(),
            ["Orders:SettleWindow"] = SettleWindow.ToString(),
            ["Orders:SweepInterval"] = "00:00:01",
            ["Outbox:PollInterval"] = "00:00:00.200",
            ["Outbox:MaxBackoff"] = "00:00:00.500",
        }));
        PaymentsDatabase = await postgres.CreateDatabaseAsync("e2e_payments");
        await StartAsync<PaymentProgram>(AppIds.PaymentService, AppChannelProtocol.Http, ValidatingTokens(AppIds.PaymentService, new()
        {
            ["ConnectionStrings:payments"] = PaymentsDatabase,
            ["Stripe:ApiKey"] = Stripe.Options.ApiKey,
            ["Stripe:WebhookSecret"] = Stripe.Options.WebhookSecret,
            ["Stripe:ApiBase"] = Stripe.ApiBase,
        }));
        await StartAsync<ExpirationProgram>(AppIds.ExpirationService, AppChannelProtocol.Http, []);
        Gateway = await StartAsync<GatewayProgram>(AppIds.Gateway, AppChannelProtocol.Http, ValidatingTokens(AppIds.Gateway, new()
        {
            ["ConnectionStrings:gateway"] = await postgres.CreateDatabaseAsync("e2e_gateway"),
            ["Gateway:UpstreamTimeout"] = GatewayUpstreamTimeout.ToString(),
            // The storefront's 3D Secure step completes authentications at the stub, as the bank's page would.
            ["Storefront:TestStripeApiBase"] = Stripe.ApiBase,
            ["Storefront:TestStripeApiKey"] = Stripe.Options.ApiKey,
            // The rate limit has tests of its own; here many calls come from few users.
            ["RateLimiting:TokenLimit"] = "100000",
            ["RateLimiting:TokensPerPeriod"] = "100000",
            [$"WaitingRoom:Events:{QueuedEventId}:Mode"] = "Fixed",
            [$"WaitingRoom:Events:{QueuedEventId}:AdmissionsPerSecond"] = "0.125",
        }));

        // Stripe calls the public webhook endpoint, i.e. the gateway, as it would in production.
        Stripe.Events.WebhookUrl = new Uri(Gateway.Address, "/payments/webhook");
        // The organiser's and the inspector's calls go straight to the apps, with the app token their sidecars hold.
        _ticketChannel = GrpcChannel.ForAddress(tickets.Address);
        _venueChannel = GrpcChannel.ForAddress(venues.Address);
        TicketClient = new Tickets.TicketsClient(WithAppToken(_ticketChannel, tickets.App));
        VenueClient = new Venues.VenuesClient(WithAppToken(_venueChannel, venues.App));
    }

    /// <summary>A customer: an HTTP client of the gateway with a token of its own.</summary>
    public Customer NewCustomer() => new(Client(), "user-" + Guid.NewGuid().ToString("N")[..12], _auth);

    /// <summary>
    /// A Dapr client on <paramref name="appId"/>'s sidecar (the pub/sub component is scoped to the apps),
    /// to put messages on the bus as that app would, e.g. the same message again.
    /// </summary>
    public DaprClient SidecarOf(string appId) => new DaprClientBuilder()
        .UseHttpEndpoint($"http://127.0.0.1:{_apps[appId].HttpPort}")
        .UseGrpcEndpoint($"http://127.0.0.1:{_apps[appId].GrpcPort}")
        .UseDaprApiToken(_apps[appId].DaprApiToken)
        .Build();

    /// <summary>An app's ports and tokens, as its sidecar knows them.</summary>
    public AppDescriptor AppOf(string appId) => _apps[appId];

    /// <summary>An HTTP client of the gateway without a token.</summary>
    public HttpClient Client() => new() { BaseAddress = Gateway.Address };

    /// <summary>
    /// A new event, created as an organiser would through ticket-service and venue-service: a general
    /// admission ticket type and a seated plan (section Floor, rows A and B of 4 seats) with its ticket type.
    /// </summary>
    public async Task<SeededEvent> SeedEventAsync(int generalAdmission = 20, long gaPriceMinor = 4_500, long seatPriceMinor = 7_000, string? eventId = null)
    {
        eventId ??= Guid.CreateVersion7().ToString();
        var plan = await VenueClient.CreateSeatPlanAsync(new CreateSeatPlanRequest
        {
            EventId = eventId,
            Name = "Hall",
            Sections = { new SectionLayout { Name = "Floor", Rows = { new RowLayout { Label = "A", Seats = 4 }, new RowLayout { Label = "B", Seats = 4 } } } },
        });
        var ga = await TicketClient.CreateTicketTypeAsync(TicketType(eventId, "General admission", generalAdmission, gaPriceMinor, "", ""));
        var seated = await TicketClient.CreateTicketTypeAsync(TicketType(eventId, "Floor", 8, seatPriceMinor, plan.PlanId, "Floor"));
        return new SeededEvent(eventId, ga.TicketId, seated.TicketId, plan.PlanId, gaPriceMinor, seatPriceMinor);
    }

    /// <summary>The order's PaymentIntents as Stripe (the stub) keeps them.</summary>
    public IReadOnlyList<PaymentIntentSnapshot> IntentsOf(string orderId) =>
        [.. Stripe.Ledger.PaymentIntents.Where(i => i.Metadata.GetValueOrDefault("order_id") == orderId)];

    /// <summary>What the customer's 3D Secure page does, through the stub's test-mode endpoint.</summary>
    public async Task CompleteAuthenticationAsync(string paymentIntentId)
    {
        using var response = await TryCompleteAuthenticationAsync(paymentIntentId);
        await Expect.StatusAsync(response, System.Net.HttpStatusCode.OK);
    }

    /// <summary>A refund made at Stripe, not by payment-service (the dashboard, a dispute): the stub's test-mode endpoint.</summary>
    public async Task RefundFromDashboardAsync(string paymentIntentId)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Stripe.Options.ApiKey);
        using var response = await http.PostAsync(new Uri($"{Stripe.ApiBase}/v1/payment_intents/{paymentIntentId}/test_refund"), new FormUrlEncodedContent([]));
        await Expect.StatusAsync(response, System.Net.HttpStatusCode.OK);
    }

    /// <summary>The same, whatever Stripe answers (it refuses for an intent that was cancelled).</summary>
    public async Task<HttpResponseMessage> TryCompleteAuthenticationAsync(string paymentIntentId)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Stripe.Options.ApiKey);
        var response = await http.PostAsync(
            new Uri($"{Stripe.ApiBase}/v1/payment_intents/{paymentIntentId}/test_complete_authentication"),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["outcome"] = "succeed" }));
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    /// <summary>
    /// Stops order-service (its process; the sidecar stays up, as a pod's daprd would only if the app alone
    /// crashed), runs <paramref name="whileDown"/>, and starts it again on the same database, app id and port.
    /// </summary>
    public async Task RestartOrderServiceAsync(Func<Task> whileDown)
    {
        var stopped = Orders;
        _hosts.Remove(stopped);
        await stopped.DisposeAsync();
        await whileDown();
        Orders = ServiceHost.Restart(stopped);
        _hosts.Add(Orders);
    }

    public virtual async ValueTask DisposeAsync()
    {
        _ticketChannel?.Dispose();
        _venueChannel?.Dispose();
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            await host.DisposeAsync();
        }

        if (Runtime is not null)
        {
            await Runtime.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }

    private async Task<ServiceHost<TProgram>> StartAsync<TProgram>(string appId, AppChannelProtocol protocol, Dictionary<string, string?> settings)
        where TProgram : class
    {
        // E2E_LOG=Information shows every service's logs when a failure needs explaining.
        settings["Logging:LogLevel:Default"] = Environment.GetEnvironmentVariable("E2E_LOG") ?? "Warning";
        var host = await ServiceHost.StartAsync<TProgram>(Runtime, appId, protocol, settings, withTokens: true);
        _hosts.Add(host);
        _apps[appId] = host.App;
        _ = host.Services;
        return host;
    }

    /// <summary>How the services that take customers' tokens (order, payment, gateway) validate them: with this run's development signing key.</summary>
    protected virtual IReadOnlyDictionary<string, string?> TokenValidation(string appId) =>
        new Dictionary<string, string?> { ["Auth:SigningKey"] = _auth.SigningKey };

    private Dictionary<string, string?> ValidatingTokens(string appId, Dictionary<string, string?> settings)
    {
        foreach (var (key, value) in TokenValidation(appId))
        {
            settings[key] = value;
        }

        return settings;
    }

    /// <summary>A channel to an app directly, as its sidecar calls it (with the app API token).</summary>
    public static CallInvoker WithAppToken(GrpcChannel channel, AppDescriptor app) => channel.Intercept(metadata =>
    {
        metadata.Add(AppDescriptor.TokenHeader, app.AppApiToken!);
        return metadata;
    });

    private static CreateTicketTypeRequest TicketType(string eventId, string name, int capacity, long priceMinor, string planId, string section) => new()
    {
        EventId = eventId,
        Name = name,
        Capacity = capacity,
        UnitPrice = new Money { AmountMinor = priceMinor, Currency = "EUR" },
        MaxPerUser = 4,
        SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
        SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)),
        SeatPlanId = planId,
        Section = section,
    };

}

/// <summary>The same system with holds of a few seconds, for the tests in which orders expire.</summary>
public sealed class ShortHoldSystem(PostgresServer postgres) : SystemUnderTest(postgres)
{
    public override TimeSpan HoldDuration => TimeSpan.FromSeconds(8);
}

/// <param name="GeneralAdmissionTicketId">A ticket type without seats.</param>
/// <param name="SeatedTicketId">The ticket type of section Floor of <paramref name="SeatPlanId"/>.</param>
public sealed record SeededEvent(string EventId, string GeneralAdmissionTicketId, string SeatedTicketId, string SeatPlanId, long GaPriceMinor, long SeatPriceMinor);

[CollectionDefinition(nameof(SystemTests))]
public sealed class SystemTests : ICollectionFixture<SystemUnderTest>;

[CollectionDefinition(nameof(ShortHoldSystemTests))]
public sealed class ShortHoldSystemTests : ICollectionFixture<ShortHoldSystem>;
