using System.Text.Json;
using Dapr.Client;
using Dapr.Workflow;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Events;
using TicketSaga.OrderService.Orders;
using TicketSaga.OrderService.Saga;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;
using TicketSaga.ServiceDefaults.Retention;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService;

public static class OrderServiceExtensions
{
    /// <summary>order-service's wiring: its options, the Dapr clients, the saga and its workflow, the outbox relay and what its tables keep.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OrderOptions>()
            .BindConfiguration(OrderOptions.SectionName)
            .Validate(o => o.HoldDuration > TimeSpan.Zero, "Orders:HoldDuration must be positive")
            .Validate(o => o.SettleWindow > TimeSpan.Zero, "Orders:SettleWindow must be positive")
            .Validate(o => o.SweepInterval >= TimeSpan.Zero, "Orders:SweepInterval must be zero (off) or positive")
            .ValidateOnStart();
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            // A name given twice is refused, never "the last one wins": the gateway's door reads the same body.
            options.SerializerOptions.AllowDuplicateProperties = false;
        });
        builder.Services.AddSingleton(TimeProvider.System);

        var grpcEndpoint = DaprSidecar.GrpcEndpoint(builder.Configuration);
        builder.Services.AddDaprClient(dapr => dapr
            .UseGrpcEndpoint(grpcEndpoint)
            .UseHttpEndpoint(DaprSidecar.HttpEndpoint(builder.Configuration)));
        builder.Services.AddSingleton(_ => new Tickets.TicketsClient(DaprClient.CreateInvocationInvoker(AppIds.TicketService, grpcEndpoint)));
        builder.Services.AddSingleton(_ => new Venues.VenuesClient(DaprClient.CreateInvocationInvoker(AppIds.VenueService, grpcEndpoint)));

        builder.Services.AddSingleton<OrderStore>();
        builder.Services.AddSingleton(services => new PaymentHistory(
            DaprClient.CreateInvokeHttpClient(AppIds.PaymentService, DaprSidecar.HttpEndpoint(builder.Configuration), DaprSidecar.ApiToken(builder.Configuration)),
            services.GetRequiredService<ILogger<PaymentHistory>>()));
        builder.Services.AddSingleton<OrderTimelines>();
        builder.Services.AddSingleton<OrderIdempotencyKeys>();
        builder.Services.AddSingleton<OrderPlacement>();
        builder.AddOutboxRelay();
        // An inbox row only has to outlive redeliveries of its message, which stop within minutes.
        builder.AddRetention(new RetentionRule("inbox", "inbox", "received_at", TimeSpan.FromDays(7)));
        builder.Services.AddSingleton<OrderSagas>();
        builder.Services.AddSingleton<OrderSignals>();
        builder.Services.AddHostedService<SagaSweeper>();
        builder.Services.AddSingleton<OrderRefunds>();
        builder.Services.AddSingleton<PaymentRefunds>();
        builder.Services.AddHostedService<RefundSweeper>();

        builder.Services.AddDaprWorkflow(options =>
        {
            options.RegisterWorkflow<OrderSaga>();
            options.RegisterActivity<FinalizeReservationActivity>();
            options.RegisterActivity<FinalizeSeatReservationActivity>();
            options.RegisterActivity<ConfirmOrderActivity>();
            options.RegisterActivity<CompensateOrderActivity>();
            options.RegisterWorkflow<OrderRefund>();
            options.RegisterActivity<ReturnSoldReservationActivity>();
            options.RegisterActivity<ReturnSoldSeatReservationActivity>();
            options.RegisterActivity<RefundOrderActivity>();
        });
        return builder;
    }
}
