using TicketSaga.Outbox;
using System.Text.Json;
using Dapr.Client;
using Dapr.Workflow;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Events;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService;

/// <summary>Settings under <c>Orders</c>.</summary>
public sealed class OrderOptions
{
    public const string Section = "Orders";

    /// <summary>How long a hold lasts before the order expires (expires_at = now + this).</summary>
    public TimeSpan HoldDuration { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>The saga's own timer ends an order at expires_at + this, should the expiry message be lost.</summary>
    public TimeSpan ExpiryGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the sweeper looks for live orders whose saga is missing.</summary>
    public TimeSpan SweepInterval { get; set; } = TimeSpan.FromSeconds(30);
}

public static class OrderServiceExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        builder.Services.Configure<OrderOptions>(configuration.GetSection(OrderOptions.Section));
        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddSingleton(TimeProvider.System);
        // MapDefaultEndpoints serves gRPC health too, which needs the gRPC services even in an HTTP app.
        builder.Services.AddGrpc();

        // The SDK finds its sidecar from DAPR_GRPC_PORT/DAPR_HTTP_PORT (environment or configuration).
        var grpcEndpoint = SidecarEndpoint(configuration, "GRPC", 50001);
        builder.Services.AddDaprClient(dapr => dapr
            .UseGrpcEndpoint(grpcEndpoint)
            .UseHttpEndpoint(SidecarEndpoint(configuration, "HTTP", 3500)));
        builder.Services.AddSingleton(_ => new Tickets.TicketsClient(DaprClient.CreateInvocationInvoker(AppIds.TicketService, grpcEndpoint)));
        builder.Services.AddSingleton(_ => new Venues.VenuesClient(DaprClient.CreateInvocationInvoker(AppIds.VenueService, grpcEndpoint)));

        builder.Services.AddSingleton<OrderStore>();
        builder.Services.AddSingleton<OrderPlacement>();
        builder.AddOutboxRelay();
        builder.Services.AddSingleton<OrderSagas>();
        builder.Services.AddSingleton<OrderEvents>();
        builder.Services.AddHostedService<SagaSweeper>();

        builder.Services.AddDaprWorkflow(options =>
        {
            options.RegisterWorkflow<OrderSaga>();
            options.RegisterActivity<FinalizeReservationActivity>();
            options.RegisterActivity<FinalizeSeatReservationActivity>();
            options.RegisterActivity<ReleaseReservationActivity>();
            options.RegisterActivity<ReleaseSeatReservationActivity>();
            options.RegisterActivity<ConfirmOrderActivity>();
            options.RegisterActivity<EndOrderActivity>();
        });
        return builder;
    }

    private static string SidecarEndpoint(IConfiguration configuration, string protocol, int defaultPort) =>
        configuration[$"DAPR_{protocol}_ENDPOINT"] is { Length: > 0 } endpoint
            ? endpoint
            : $"http://127.0.0.1:{configuration[$"DAPR_{protocol}_PORT"] ?? defaultPort.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
}
