using System.Text.Json;
using System.Text.Json.Serialization;
using Dapr.Client;
using Microsoft.Extensions.Options;
using Stripe;
using TicketSaga.Contracts;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;
using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.PaymentService;

public static class PaymentServiceExtensions
{
    /// <summary>payment-service's wiring: public JSON in snake_case, Stripe.net, the payment flows, the payment work runner, the order reconciler and the outbox relay.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.ConfigureHttpJsonOptions(options =>
        {
            options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            options.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });

        builder.Services.AddOptions<StripeOptions>()
            .BindConfiguration(StripeOptions.SectionName)
            .Validate(o => !string.IsNullOrWhiteSpace(o.ApiKey), "Set Stripe:ApiKey (environment Stripe__ApiKey)")
            .Validate(o => !string.IsNullOrWhiteSpace(o.WebhookSecret), "Set Stripe:WebhookSecret (environment Stripe__WebhookSecret)")
            .Validate(o => o.MaxNetworkRetries >= 0, "Stripe:MaxNetworkRetries must not be negative")
            .ValidateOnStart();
        builder.Services.AddHttpClient(nameof(StripeClient));
        builder.Services.AddSingleton(services =>
        {
            var stripe = services.GetRequiredService<IOptions<StripeOptions>>().Value;
            return new StripeClient(
                stripe.ApiKey,
                httpClient: new SystemNetHttpClient(services.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(StripeClient)), stripe.MaxNetworkRetries),
                apiBase: string.IsNullOrWhiteSpace(stripe.ApiBase) ? null : stripe.ApiBase.TrimEnd('/'));
        });

        builder.Services.AddDaprClient();
        builder.Services.AddSingleton<PaymentStore>();
        builder.Services.AddSingleton<OrderLocks>();
        builder.Services.AddSingleton<StripeGateway>();
        builder.Services.AddSingleton<PaymentSettlement>();
        builder.Services.AddSingleton(services => new OrderDirectory(
            DaprClient.CreateInvokeHttpClient(AppIds.OrderService, DaprSidecar.HttpEndpoint(builder.Configuration), DaprSidecar.ApiToken(builder.Configuration)),
            services.GetRequiredService<ILogger<OrderDirectory>>()));
        builder.Services.AddSingleton<PaymentConfirmation>();
        builder.Services.AddSingleton<OrderCancellation>();
        builder.Services.AddSingleton<StripeWebhook>();
        builder.Services.AddOptions<PaymentWorkOptions>()
            .BindConfiguration(PaymentWorkOptions.SectionName)
            .Validate(o => o.PollInterval > TimeSpan.Zero, "PaymentWork:PollInterval must be positive")
            .Validate(o => o.InitialBackoff > TimeSpan.Zero, "PaymentWork:InitialBackoff must be positive")
            .Validate(o => o.MaxBackoff >= o.InitialBackoff, "PaymentWork:MaxBackoff must be at least PaymentWork:InitialBackoff")
            .ValidateOnStart();
        builder.Services.AddSingleton<PaymentWorkSignal>();
        builder.Services.AddHostedService<PaymentWorkRunner>();
        builder.Services.AddOptions<OrderReconciliationOptions>()
            .BindConfiguration(OrderReconciliationOptions.SectionName)
            .Validate(o => o.After > TimeSpan.Zero, "OrderReconciliation:After must be positive")
            .Validate(o => o.Interval > TimeSpan.Zero, "OrderReconciliation:Interval must be positive")
            .Validate(o => o.BatchSize > 0, "OrderReconciliation:BatchSize must be positive")
            .ValidateOnStart();
        builder.Services.AddHostedService<OrderReconciler>();
        builder.AddOutboxRelay();
        builder.AddRetention(
            // Stripe retries a webhook for up to 3 days and the sidecar for minutes: a week outlives both.
            new RetentionRule("inbox", "inbox", "received_at", TimeSpan.FromDays(7)),
            new RetentionRule("payment-work", "payment_work", "settled_at", TimeSpan.FromDays(30)));
        return builder;
    }
}
