using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TicketSaga.Runtime.Api;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.PubSub;

public static class PubSubExtensions
{
    /// <summary>The runtime-wide log, its wake-up signal and the dead-letter audit.</summary>
    public static IServiceCollection AddPubSubLog(this IServiceCollection services) => services
        .AddSingleton<DeliverySignal>()
        .AddSingleton<PubSubLog>()
        .AddSingleton<DeadLetters>();

    /// <summary>One sidecar's publisher and the delivery to its app.</summary>
    public static IServiceCollection AddSidecarPubSub(this IServiceCollection services, EmbeddedRuntime runtime) => services
        .AddSingleton(runtime.Services.GetRequiredService<NpgsqlDataSource>())
        .AddSingleton(runtime.Services.GetRequiredService<DeliverySignal>())
        .AddSingleton(runtime.Services.GetRequiredService<PubSubLog>())
        .AddSingleton(runtime.Options.DeliveryFaults)
        .AddSingleton<Publisher>()
        .AddSingleton<SidecarSubscriptions>()
        .AddHostedService<SubscriptionDelivery>();

    /// <summary><c>POST</c> (or, as daprd routes it, <c>PUT</c>) <c>/v1.0/publish/{pubsub}/{topic}</c>; <c>metadata.*</c> query parameters become publish metadata.</summary>
    public static WebApplication MapPubSubApi(this WebApplication web)
    {
        web.MapMethods("/v1.0/publish/{pubsub}/{topic}", [HttpMethods.Post, HttpMethods.Put], async (string pubsub, string topic, HttpRequest request, Publisher publisher, CancellationToken cancellationToken) =>
        {
            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body, cancellationToken);
            var metadata = request.Query
                .Where(q => q.Key.StartsWith("metadata.", StringComparison.Ordinal))
                .ToDictionary(q => q.Key["metadata.".Length..], q => q.Value.ToString());
            try
            {
                await publisher.PublishAsync(pubsub, topic, body.ToArray(), request.ContentType, metadata, request.Headers.TraceParent.FirstOrDefault(), cancellationToken);
                return Results.NoContent();
            }
            catch (InvalidPublishException ex)
            {
                return Results.Json(new DaprError(ex.NotFound ? "ERR_PUBSUB_NOT_FOUND" : "ERR_PUBSUB_PUBLISH_MESSAGE", ex.Message),
                    statusCode: ex.NotFound ? StatusCodes.Status404NotFound : StatusCodes.Status400BadRequest);
            }
            catch (PublishForbiddenException ex)
            {
                return Results.Json(new DaprError("ERR_PUBSUB_FORBIDDEN", ex.Message), statusCode: StatusCodes.Status403Forbidden);
            }
        });
        return web;
    }
}
