using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using TicketSaga.Contracts;
using TicketSaga.Gateway.Admission;
using TicketSaga.Gateway.Catalog;
using TicketSaga.Gateway.Idempotency;
using TicketSaga.Gateway.OpenApi;
using TicketSaga.Gateway.Proxy;
using TicketSaga.Gateway.RateLimiting;
using TicketSaga.ServiceDefaults;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;
using Microsoft.AspNetCore.Mvc;
using Scalar.AspNetCore;
using Yarp.ReverseProxy.Configuration;

namespace TicketSaga.Gateway;

public static class GatewayExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayOptions>()
            .BindConfiguration(GatewayOptions.SectionName)
            .Validate(o => o.UpstreamTimeout > TimeSpan.Zero, "Gateway:UpstreamTimeout must be positive")
            .Validate(o => o.SidecarConnections > 0, "Gateway:SidecarConnections must be positive")
            .Validate(o => o.MaxOrdersInFlight > 0, "Gateway:MaxOrdersInFlight must be positive")
            .Validate(o => o.WebhookConnections > 0, "Gateway:WebhookConnections must be positive")
            .Validate(o => o.MaxWebhooksInFlight > 0, "Gateway:MaxWebhooksInFlight must be positive")
            .Validate(o => o.OverloadRetryAfter >= TimeSpan.FromSeconds(1), "Gateway:OverloadRetryAfter must be at least 1 s")
            .Validate(o => o.SoldOutReadSpacing >= TimeSpan.Zero && o.SoldOutReadSpacing <= TimeSpan.FromSeconds(1), "Gateway:SoldOutReadSpacing must be between 0 and 1 s")
            .ValidateOnStart();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, options =>
        {
            // Keeps the token checks of AddJwtAuthentication (a token without sub is refused).
            options.Events ??= new JwtBearerEvents();
            options.Events.OnChallenge = WriteUnauthorizedAsync;
        });
        services.AddForwardedClients(builder.Configuration);
        services.AddUserRateLimiting();

        services.AddOptions<IdempotencyOptions>()
            .BindConfiguration(IdempotencyOptions.SectionName)
            .Validate(o => o.KeyLifetime > TimeSpan.Zero, "Idempotency:KeyLifetime must be positive")
            .Validate(o => o.InFlightLock > TimeSpan.Zero, "Idempotency:InFlightLock must be positive")
            .Validate(o => o.CleanupInterval > TimeSpan.Zero, "Idempotency:CleanupInterval must be positive")
            .ValidateOnStart();
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<IdempotentRequests>();
        services.AddHostedService<ExpiredKeyCleaner>();

        var sidecar = DaprSidecar.HttpEndpoint(builder.Configuration);
        services.AddReverseProxy().AddTransforms(UpstreamTransforms.Apply);
        services.AddSingleton<IProxyConfigProvider>(sp => new InMemoryConfigProvider(
            SidecarRoutes.Routes, SidecarRoutes.Clusters(sidecar, sp.GetRequiredService<IOptions<GatewayOptions>>().Value)));

        // The catalog reads the services that own the data through the sidecar's gRPC invocation proxy.
        var grpcEndpoint = DaprSidecar.GrpcEndpoint(builder.Configuration);
        services.AddSingleton(_ => new Tickets.TicketsClient(DaprClient.CreateInvocationInvoker(AppIds.TicketService, grpcEndpoint)));
        services.AddSingleton(_ => new Venues.VenuesClient(DaprClient.CreateInvocationInvoker(AppIds.VenueService, grpcEndpoint)));

        services.AddOrderAdmission();
        services.AddPublicApiDocument();
        return builder;
    }

    /// <summary>The client's address from trusted proxies, problem details for every status, then identity, the per-user rate limit and authorization, in that order.</summary>
    public static WebApplication UseGatewayPipeline(this WebApplication app)
    {
        app.UseForwardedHeaders();
        app.UseStatusCodePages();
        app.UseAuthentication();
        app.UseRateLimiter();
        app.UseAuthorization();
        return app;
    }

    public static WebApplication MapPublicApiDocs(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();
        app.MapScalarApiReference("/docs", options => options.WithTitle("TicketSaga API")).AllowAnonymous();
        return app;
    }

    public static WebApplication MapOrderAndPaymentProxy(this WebApplication app)
    {
        app.MapReverseProxy(proxy =>
        {
            proxy.Use(UpstreamTransforms.WriteForwarderProblemsAsync);
            proxy.UseMiddleware<StripeWebhookDoor>();
            proxy.Use(WholeBodies.ReadWholeBodyAsync);
            proxy.UseMiddleware<OrderAdmission>();
            proxy.UseMiddleware<IdempotentRequests>();
            proxy.UseLoadBalancing();
        }).ConfigureEndpoints((endpoint, route) =>
        {
            // Stripe's events are larger than any API request (RequestLimits).
            if (route.RouteId == SidecarRoutes.StripeWebhookRoute)
            {
                endpoint.WithMetadata(new RequestSizeLimitAttribute(RequestLimits.StripeWebhookBodyBytes));
            }
        });
        return app;
    }

    /// <summary>401 as problem details, saying why the token was refused (missing, expired, invalid).</summary>
    private static async Task WriteUnauthorizedAsync(JwtBearerChallengeContext challenge)
    {
        challenge.HandleResponse();
        challenge.Response.Headers.WWWAuthenticate = "Bearer";
        var detail = challenge.AuthenticateFailure switch
        {
            null => "A bearer token is required (Authorization: Bearer <token>).",
            SecurityTokenExpiredException => "The bearer token has expired.",
            SecurityTokenInvalidAudienceException => "The bearer token is not meant for this API (audience).",
            _ => "The bearer token is not valid.",
        };
        await GatewayProblems.WriteAsync(challenge.HttpContext, GatewayProblems.Create(
            StatusCodes.Status401Unauthorized, GatewayProblems.Unauthorized, "Unauthorized", detail));
    }
}
