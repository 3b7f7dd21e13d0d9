using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TicketSaga.Runtime.Secrets;
using TicketSaga.Runtime.State;
using TicketSaga.Runtime.Workflow;

namespace TicketSaga.Runtime.Api;

public static class ApiExtensions
{
    private static readonly JsonSerializerOptions OmitNulls = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    /// <summary>The Dapr gRPC API service, the state and secrets APIs, the metadata reported by both APIs and the sidecar's readiness.</summary>
    public static IServiceCollection AddDaprApi(this IServiceCollection services)
    {
        services.AddGrpc();
        return services
            .AddSingleton<SidecarHealth>()
            .AddSingleton<SidecarMetadata>()
            .AddSingleton<StateStores>()
            .AddSingleton<SecretStores>()
            .AddSingleton<IServiceMethodProvider<DaprGrpcApi>, DaprGrpcApi.MethodProvider>();
    }

    /// <summary>gRPC <c>dapr.proto.runtime.v1.Dapr</c>, the HTTP state, secrets and workflow APIs, HTTP metadata and graceful shutdown.</summary>
    public static WebApplication MapDaprApi(this WebApplication web)
    {
        web.MapGrpcService<DaprGrpcApi>();
        web.MapStateApi();
        web.MapSecretsApi();
        web.MapWorkflowHttpApi();
        web.MapGet("/v1.0/metadata", (SidecarMetadata metadata) => Results.Json(metadata.ToJson(), OmitNulls));
        web.MapPut("/v1.0/metadata/{key}", async (string key, HttpRequest request, SidecarMetadata metadata) =>
        {
            // As daprd: the body is the value, as text.
            using var reader = new StreamReader(request.Body);
            metadata.Set(key, await reader.ReadToEndAsync(request.HttpContext.RequestAborted));
            return Results.NoContent();
        });
        web.MapPost("/v1.0/shutdown", (HttpContext context, IHostApplicationLifetime lifetime) =>
        {
            context.Response.OnCompleted(() =>
            {
                lifetime.StopApplication();
                return Task.CompletedTask;
            });
            return Results.NoContent();
        });
        return web;
    }
}
