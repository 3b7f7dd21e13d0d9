using System.Text.Json;
using Dapr.Client;
using Dapr.Workflow;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Events;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService;

public static class OrderServiceExtensions
{
    /// <summary>order-service's wiring: its options, the Dapr clients, the saga and its workflow, the outbox relay.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OrderOptions>()
            .BindConfiguration(OrderOptions.SectionName)
            .Validate(o => o.HoldDuration > TimeSpan.Zero, "Orders:HoldDuration must be positive")
            .Validate(o => o.ExpiryGrace >= TimeSpan.Zero, "Orders:ExpiryGrace must not be negative")
            .Validate(o => o.SweepInterval > TimeSpan.Zero, "Orders:SweepInterval must be positive")
            .ValidateOnStart();
        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddSingleton(TimeProvider.System);

        var grpcEndpoint = DaprSidecar.GrpcEndpoint(builder.Configuration);
        builder.Services.AddDaprClient(dapr => dapr
            .UseGrpcEndpoint(grpcEndpoint)
            .UseHttpEndpoint(DaprSidecar.HttpEndpoint(builder.Configuration)));
        builder.Services.AddSingleton(_ => new Tickets.TicketsClient(DaprClient.CreateInvocationInvoker(AppIds.TicketService, grpcEndpoint)));
        builder.Services.AddSingleton(_ => new Venues.VenuesClient(DaprClient.CreateInvocationInvoker(AppIds.VenueService, grpcEndpoint)));

        builder.Services.AddSingleton<OrderStore>();
        builder.Services.AddSingleton<OrderIdempotencyKeys>();
        builder.Services.AddSingleton<OrderPlacement>();
        builder.AddOutboxRelay();
        builder.Services.AddSingleton<OrderSagas>();
        builder.Services.AddSingleton<OrderSignals>();
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
}
