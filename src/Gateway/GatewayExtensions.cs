using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.IdentityModel.Tokens;
using TicketSaga.Contracts;
using TicketSaga.Gateway.Catalog;
using TicketSaga.Gateway.Idempotency;
using TicketSaga.Gateway.OpenApi;
using TicketSaga.Gateway.Proxy;
using TicketSaga.Gateway.RateLimiting;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;
using Microsoft.AspNetCore.Mvc;
using Scalar.AspNetCore;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Gateway;

public static class GatewayExtensions
{
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        // MapDefaultEndpoints maps the gRPC health service, which needs gRPC's services in HTTP apps too.
        services.AddGrpc();
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        services.PostConfigure<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme, options =>
        {
            // Keeps the token checks of AddJwtAuthentication (a token without sub is refused).
            options.Events ??= new JwtBearerEvents();
            options.Events.OnChallenge = WriteUnauthorizedAsync;
        });
        services.AddForwardedClients(builder.Configuration);
        services.AddUserRateLimiting(builder.Configuration);

        services.Configure<IdempotencySettings>(builder.Configuration.GetSection(IdempotencySettings.Section));
        services.AddSingleton<IdempotencyStore>();
        services.AddSingleton<IdempotentRequests>();
        services.AddHostedService<ExpiredKeyCleaner>();

        services.AddReverseProxy()
            .LoadFromMemory(SidecarRoutes.Routes, SidecarRoutes.Clusters(builder.Configuration))
            .AddTransforms(UpstreamTransforms.Apply);

        // The catalog reads the services that own the data through the sidecar's gRPC invocation proxy.
        var grpcEndpoint = builder.Configuration["DAPR_GRPC_ENDPOINT"] is { Length: > 0 } endpoint
            ? endpoint
            : $"http://127.0.0.1:{builder.Configuration["DAPR_GRPC_PORT"] ?? "50001"}";
        services.AddSingleton(_ => new Tickets.TicketsClient(DaprClient.CreateInvocationInvoker(AppIds.TicketService, grpcEndpoint)));
        services.AddSingleton(_ => new Venues.VenuesClient(DaprClient.CreateInvocationInvoker(AppIds.VenueService, grpcEndpoint)));

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
