using System.Collections.Concurrent;
using OrchestrationStatus = DurableTask.Core.OrchestrationStatus;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.DurableTask.Protobuf;
using Microsoft.DurableTask.Testing.Sidecar;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// One app's workflow engine (its own task hub, like one daprd's): Microsoft.DurableTask's in-process
/// engine, in memory. Calls go straight to the engine's gRPC service implementation, with two
/// guards the in-memory engine needs: a purged instance must not be revived by one of its timers,
/// and a worker stream ends when the sidecar stops.
/// </summary>
public sealed class WorkflowEngine : IDisposable
{
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ConcurrentDictionary<string, DateTime> _latestTimer = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _deferredPurges = new(StringComparer.OrdinalIgnoreCase);

    public WorkflowEngine(IHostApplicationLifetime lifetime, ILoggerFactory loggerFactory)
    {
        _lifetime = lifetime;
        Orchestrations = new InMemoryOrchestrationService(loggerFactory);
        Server = new TaskHubGrpcServer(lifetime, loggerFactory, new UnthrottledOrchestrationService(Orchestrations), Orchestrations, Options.Create(new TaskHubGrpcServerOptions()));
    }

    public InMemoryOrchestrationService Orchestrations { get; }

    internal TaskHubGrpcServer Server { get; }

    internal Task<CreateInstanceResponse> StartInstance(CreateInstanceRequest request, ServerCallContext context)
    {
        // A new instance under a purged id must not be purged by the deferred purge of the old one.
        if (_deferredPurges.TryRemove(request.InstanceId, out var deferred))
        {
            deferred.Cancel();
        }

        return Server.StartInstance(request, context);
    }

    internal async Task<GetInstanceResponse> GetInstance(GetInstanceRequest request, ServerCallContext context) =>
        _deferredPurges.ContainsKey(request.InstanceId) ? new GetInstanceResponse { Exists = false } : await Server.GetInstance(request, context);

    internal Task<CompleteTaskResponse> CompleteOrchestratorTask(OrchestratorResponse response, ServerCallContext context)
    {
        foreach (var action in response.Actions)
        {
            if (action.CreateTimer?.FireAt is { } fireAt)
            {
                _latestTimer.AddOrUpdate(response.InstanceId, fireAt.ToDateTime(), (_, latest) => latest > fireAt.ToDateTime() ? latest : fireAt.ToDateTime());
            }
        }

        return Server.CompleteOrchestratorTask(response, context);
    }

    /// <summary>
    /// Purges a completed instance. When one of its timers is still pending, the in-memory engine would
    /// re-create the instance from that timer's message and fail on it forever, so the instance is
    /// hidden now (it reads as not found) and removed once its last timer has passed.
    /// </summary>
    internal async Task<PurgeInstancesResponse> PurgeInstances(PurgeInstancesRequest request, ServerCallContext context)
    {
        if (request.RequestCase != PurgeInstancesRequest.RequestOneofCase.InstanceId
            || !_latestTimer.TryGetValue(request.InstanceId, out var latestTimer) || latestTimer <= DateTime.UtcNow)
        {
            _latestTimer.TryRemove(request.InstanceId ?? "", out _);
            return await Server.PurgeInstances(request, context);
        }

        if (await Orchestrations.GetOrchestrationStateAsync(request.InstanceId, executionId: null) is not { } state
            || state.OrchestrationStatus is not (OrchestrationStatus.Completed or OrchestrationStatus.Failed or OrchestrationStatus.Terminated))
        {
            return new PurgeInstancesResponse { DeletedInstanceCount = 0 };
        }

        var deferred = new CancellationTokenSource();
        _deferredPurges[request.InstanceId] = deferred;
        _ = PurgeAfterAsync(request.InstanceId, latestTimer - DateTime.UtcNow + TimeSpan.FromSeconds(1), deferred);
        return new PurgeInstancesResponse { DeletedInstanceCount = 1 };
    }

    /// <summary>Serves the worker's work-item stream, ending it when the sidecar stops (the worker reconnects elsewhere or not at all).</summary>
    internal async Task GetWorkItems(GetWorkItemsRequest request, IServerStreamWriter<WorkItem> stream, ServerCallContext context)
    {
        var http = context.GetHttpContext();
        await using var stopping = _lifetime.ApplicationStopping.Register(http.Abort);
        await Server.GetWorkItems(request, stream, context);
    }

    private async Task PurgeAfterAsync(string instanceId, TimeSpan delay, CancellationTokenSource deferred)
    {
        try
        {
            await Task.Delay(delay, deferred.Token);
            _deferredPurges.TryRemove(new KeyValuePair<string, CancellationTokenSource>(instanceId, deferred));
            _latestTimer.TryRemove(instanceId, out _);
            await Orchestrations.PurgeInstanceStateAsync(instanceId);
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            deferred.Dispose();
        }
    }

    public void Dispose()
    {
        foreach (var deferred in _deferredPurges.Values)
        {
            deferred.Cancel();
        }

        Server.Dispose();
    }
}
