using TicketSaga.Outbox;
using System.Text.Json;
using Dapr.Client;
using Stripe;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

public static class PaymentServiceExtensions
{
    /// <summary>payment-service's wiring: public JSON in snake_case, Stripe.net, the payment flows and the outbox relay.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            options.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });

        // MapDefaultEndpoints serves gRPC health next to /healthz; it needs the gRPC services even in an HTTP app.
        builder.Services.AddGrpc();

        var stripe = StripeSettings.From(builder.Configuration);
        builder.Services.AddSingleton(stripe);
        builder.Services.AddHttpClient(nameof(StripeClient));
        builder.Services.AddSingleton(services => new StripeClient(
            stripe.ApiKey,
            httpClient: new SystemNetHttpClient(services.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(StripeClient)), stripe.MaxNetworkRetries),
            apiBase: string.IsNullOrWhiteSpace(stripe.ApiBase) ? null : stripe.ApiBase.TrimEnd('/')));

        builder.Services.AddSingleton<PaymentStore>();
        builder.Services.AddSingleton<StripeGateway>();
        builder.Services.AddSingleton<PaymentSettlement>();
        builder.Services.AddSingleton(services => new OrderDirectory(
            DaprClient.CreateInvokeHttpClient(AppIds.OrderService, SidecarHttpEndpoint(builder.Configuration)),
            services.GetRequiredService<ILogger<OrderDirectory>>()));
        builder.Services.AddSingleton<PaymentConfirmation>();
        builder.Services.AddSingleton<OrderCancellation>();
        builder.Services.AddSingleton<StripeWebhook>();
        builder.AddOutboxRelay();
        return builder;
    }

    /// <summary>The sidecar's HTTP endpoint as `dapr run` announces it (environment or configuration).</summary>
    private static string SidecarHttpEndpoint(IConfiguration configuration) =>
        configuration["DAPR_HTTP_ENDPOINT"] is { Length: > 0 } endpoint ? endpoint : $"http://127.0.0.1:{configuration["DAPR_HTTP_PORT"] ?? "3500"}";
}
