using Grpc.AspNetCore.Server.Model;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.Runtime.Workflow;

public static class WorkflowRegistration
{
    /// <summary>Per sidecar: the app's own workflow engine (task hub), kept in the runtime's database.</summary>
    public static IServiceCollection AddSidecarWorkflows(this IServiceCollection services)
    {
        services.AddGrpc();
        services.AddSingleton<WorkflowEngine>();
        services.AddSingleton<IServiceMethodProvider<WorkflowEngine>, TaskHubSidecarBinding>();
        return services;
    }

    /// <summary>The Durable Task sidecar protocol Dapr.Workflow talks, on the sidecar's gRPC port.</summary>
    public static IEndpointRouteBuilder MapWorkflowApi(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<WorkflowEngine>();
        return endpoints;
    }
}
