extern alias GatewayApp;
extern alias TicketServiceApp;
extern alias VenueServiceApp;

using System.Net.Http.Headers;
using System.Reflection;
using System.Security.Cryptography;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging.Abstractions;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;
using GatewayProgram = GatewayApp::Program;
using TicketProgram = TicketServiceApp::Program;
using VenueProgram = VenueServiceApp::Program;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.Gateway.Tests;

[CollectionDefinition(nameof(GatewayTests))]
public sealed class GatewayTests : ICollectionFixture<GatewaySystem>;

/// <summary>
/// The gateway's world on one embedded runtime: the real gateway, the real ticket-service and
/// venue-service (for the catalog), and stand-ins registered as order-service and payment-service
/// that record what reaches them. Every app has its own sidecar and its own database.
/// </summary>
public sealed class GatewaySystem(PostgresServer postgres) : IAsyncLifetime
{
    private readonly List<IAsyncDisposable> _hosts = [];
    private GrpcChannel _ticketChannel = null!;
    private GrpcChannel _venueChannel = null!;

    public AuthSettings Auth { get; } = new() { SigningKey = DevTokens.NewSigningKey() };

    public EmbeddedRuntime Runtime { get; private set; } = null!;

    public StandIn Orders { get; private set; } = null!;

    public StandIn Payments { get; private set; } = null!;

    public string GatewayDatabase { get; private set; } = "";

    public Uri GatewayAddress { get; private set; } = null!;

    public Tickets.TicketsClient Tickets { get; private set; } = null!;

    public Venues.VenuesClient Venues { get; private set; } = null!;

    public static string CliPath { get; } = Path.GetFullPath(Metadata("TicketSagaCli"));

    public async ValueTask InitializeAsync()
    {
        var runtimeDatabase = await postgres.CreateDatabaseAsync("gw_runtime");
        Runtime = await EmbeddedRuntime.StartAsync(TestRuntime.Options(runtimeDatabase), NullLoggerFactory.Instance);

        Orders = await Track(StandIn.StartAsync(Runtime, AppIds.OrderService, "/orders"));
        Payments = await Track(StandIn.StartAsync(Runtime, AppIds.PaymentService, "/payments"));

        var tickets = await Track(ServiceHost.StartAsync<TicketProgram>(Runtime, AppIds.TicketService, AppChannelProtocol.Grpc,
            new Dictionary<string, string?> { ["ConnectionStrings:tickets"] = await postgres.CreateDatabaseAsync("gw_tickets") }));
        var venues = await Track(ServiceHost.StartAsync<VenueProgram>(Runtime, AppIds.VenueService, AppChannelProtocol.Grpc,
            new Dictionary<string, string?> { ["ConnectionStrings:venues"] = await postgres.CreateDatabaseAsync("gw_venues") }));
        _ticketChannel = GrpcChannel.ForAddress(tickets.Address);
        _venueChannel = GrpcChannel.ForAddress(venues.Address);
        Tickets = new Tickets.TicketsClient(_ticketChannel);
        Venues = new Venues.VenuesClient(_venueChannel);

        GatewayDatabase = await postgres.CreateDatabaseAsync("gw_gateway");
        GatewayAddress = (await StartGatewayAsync(AppIds.Gateway, new Dictionary<string, string?>
        {
            // Generous: the rate limit has tests of its own, on a gateway of their own.
            ["RateLimiting:TokenLimit"] = "100000",
            ["RateLimiting:TokensPerPeriod"] = "100000",
        })).Address;
    }

    /// <summary>Another gateway on the same runtime (its own app id and sidecar) with extra settings.</summary>
    public async Task<ServiceHost<GatewayProgram>> StartGatewayAsync(string appId, IReadOnlyDictionary<string, string?> settings)
    {
        var all = new Dictionary<string, string?>
        {
            ["ConnectionStrings:gateway"] = GatewayDatabase,
            ["Auth:SigningKey"] = Auth.SigningKey,
        };
        foreach (var (key, value) in settings)
        {
            all[key] = value;
        }

        return await Track(ServiceHost.StartAsync<GatewayProgram>(Runtime, appId, AppChannelProtocol.Http, all));
    }

    public HttpClient Client(string? userId = null, Uri? gateway = null)
    {
        var client = new HttpClient { BaseAddress = gateway ?? GatewayAddress };
        if (userId is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TokenFor(userId));
        }

        return client;
    }

    public string TokenFor(string userId) => DevTokens.Create(Auth, userId, TimeSpan.FromMinutes(10));

    /// <summary>A Stripe-Signature of the right shape, made now: the gateway lets it through to payment-service, which checks it.</summary>
    public static string WellFormedStripeSignature() => $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()},v1={Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32))}";

    public static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..12];

    public async ValueTask DisposeAsync()
    {
        _ticketChannel.Dispose();
        _venueChannel.Dispose();
        foreach (var host in Enumerable.Reverse(_hosts))
        {
            await host.DisposeAsync();
        }

        await Runtime.DisposeAsync();
    }

    private async Task<T> Track<T>(Task<T> starting)
        where T : IAsyncDisposable
    {
        var host = await starting;
        _hosts.Add(host);
        return host;
    }

    private static string Metadata(string key) =>
        typeof(GatewaySystem).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;
}
