using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.DurableTask.Protobuf;
using Microsoft.DurableTask.Testing.Sidecar.Grpc;
using Npgsql;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// One app's workflow engine (its own task hub, like one daprd's), kept in the runtime's PostgreSQL
/// (<see cref="WorkflowStore"/>) and driven by Microsoft.DurableTask's sidecar dispatchers. Each
/// worker connection of the app gets dispatchers of its own: work sent over a connection that has
/// ended is given back to the store at once, never left waiting for an answer that cannot come.
/// </summary>
public sealed class WorkflowEngine : IDisposable
{
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Lock _gate = new();
    private readonly List<WorkerConnection> _connections = [];

    public WorkflowEngine(IHostApplicationLifetime lifetime, ILoggerFactory loggerFactory, AppDescriptor app, EmbeddedRuntime runtime)
    {
        _lifetime = lifetime;
        _loggerFactory = loggerFactory;
        Store = new WorkflowStore(
            runtime.Services.GetRequiredService<NpgsqlDataSource>(), runtime.Services.GetRequiredKeyedService<NpgsqlDataSource>(WorkflowStore.TransitionsKey), app.AppId, runtime.Options.Workflows, loggerFactory.CreateLogger<WorkflowEngine>());
        Server = new TaskHubGrpcServer(
            lifetime, loggerFactory, Store.OpenSession(), Store, Options.Create(new TaskHubGrpcServerOptions { Mode = TaskHubGrpcServerMode.ApiServerOnly }));
    }

    internal WorkflowStore Store { get; }

    /// <summary>Serves the calls that only read or write the store (start, get, raise, terminate...).</summary>
    internal TaskHubGrpcServer Server { get; }

    /// <summary>Serves one worker connection with dispatchers of its own, and gives its unfinished work back when it ends.</summary>
    internal async Task GetWorkItems(GetWorkItemsRequest request, IServerStreamWriter<WorkItem> stream, ServerCallContext context)
    {
        var connection = new WorkerConnection(Store, _loggerFactory);
        lock (_gate)
        {
            _connections.Add(connection);
        }

        var http = context.GetHttpContext();
        try
        {
            // The stream ends when the sidecar stops (the worker reconnects elsewhere or not at all).
            await using var stopping = _lifetime.ApplicationStopping.Register(http.Abort);
            await connection.Server.GetWorkItems(request, stream, context);
        }
        finally
        {
            lock (_gate)
            {
                _connections.Remove(connection);
            }

            await connection.EndAsync();
        }
    }

    /// <summary>A result goes to the connection whose dispatcher sent the work item.</summary>
    internal Task<CompleteTaskResponse> CompleteOrchestratorTask(OrchestratorResponse response, ServerCallContext context) =>
        ToSender(server => server.CompleteOrchestratorTask(response, context));

    internal Task<CompleteTaskResponse> CompleteActivityTask(ActivityResponse response, ServerCallContext context) =>
        ToSender(server => server.CompleteActivityTask(response, context));

    private async Task<CompleteTaskResponse> ToSender(Func<TaskHubGrpcServer, Task<CompleteTaskResponse>> complete)
    {
        WorkerConnection[] connections;
        lock (_gate)
        {
            connections = [.. _connections];
        }

        for (var i = connections.Length - 1; i >= 0; i--)
        {
            try
            {
                return await complete(connections[i].Server);
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.NotFound && i > 0)
            {
            }
        }

        throw new RpcException(new Status(StatusCode.NotFound, "No worker connection is waiting for this work item."));
    }

    /// <summary>Terminate, of child workflows too when asked (Dapr.Workflow always asks).</summary>
    internal async Task<TerminateResponse> TerminateInstance(TerminateRequest request, ServerCallContext context)
    {
        await Store.TerminateAsync(request.InstanceId, request.Output, request.Recursive);
        return new TerminateResponse();
    }

    /// <summary>Purge of one instance, of its child workflows too when asked; a filter goes to the sidecar's own handling.</summary>
    internal async Task<PurgeInstancesResponse> PurgeInstances(PurgeInstancesRequest request, ServerCallContext context) =>
        request.RequestCase == PurgeInstancesRequest.RequestOneofCase.InstanceId
            ? new PurgeInstancesResponse { DeletedInstanceCount = await Store.PurgeAsync(request.InstanceId, request.Recursive) }
            : await Server.PurgeInstances(request, context);

    /// <summary>The instance ids of this app, a page at a time (Dapr's ListInstanceIDs).</summary>
    internal async Task<Dapr.DurableTask.Protobuf.ListInstanceIDsResponse> ListInstanceIds(Dapr.DurableTask.Protobuf.ListInstanceIDsRequest request, ServerCallContext context)
    {
        const int defaultPageSize = 100;
        var pageSize = request.HasPageSize && request.PageSize > 0 ? (int)request.PageSize : defaultPageSize;
        var ids = await Store.ListInstanceIdsAsync(request.HasContinuationToken ? request.ContinuationToken : null, pageSize, context.CancellationToken);
        var response = new Dapr.DurableTask.Protobuf.ListInstanceIDsResponse { InstanceIds = { ids } };
        if (ids.Count == pageSize)
        {
            response.ContinuationToken = ids[^1];
        }

        return response;
    }

    /// <summary>An instance's history in Dapr's message types (Dapr's GetInstanceHistory); the event types are wire-compatible.</summary>
    internal async Task<Dapr.DurableTask.Protobuf.GetInstanceHistoryResponse> GetInstanceHistory(Dapr.DurableTask.Protobuf.GetInstanceHistoryRequest request, ServerCallContext context)
    {
        var history = await Store.GetHistoryAsync(request.InstanceId)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No workflow instance '{request.InstanceId}'."));
        return new Dapr.DurableTask.Protobuf.GetInstanceHistoryResponse
        {
            Events = { history.Select(e => Dapr.DurableTask.Protobuf.HistoryEvent.Parser.ParseFrom(ProtobufUtils.ToHistoryEventProto(e).ToByteArray())) },
        };
    }

    public void Dispose()
    {
        Server.Dispose();
        Store.Dispose();
    }

    /// <summary>
    /// One worker connection: a sidecar server with its own dispatchers (and its own table of work items
    /// awaiting the app's answer) over a session of the store. Its dispatchers start at once (the lifetime
    /// it is given has already started) and are never stopped: stopping waits for every work item sent to
    /// the app, which a gone app never answers. Once the connection ends they park on the closed session.
    /// </summary>
    private sealed class WorkerConnection : IHostApplicationLifetime
    {
        private readonly WorkflowStore _store;
        private readonly WorkflowWorkerSession _session;

        public WorkerConnection(WorkflowStore store, ILoggerFactory loggerFactory)
        {
            _store = store;
            _session = store.OpenSession();
            Server = new TaskHubGrpcServer(this, loggerFactory, _session, store, Options.Create(new TaskHubGrpcServerOptions()));
        }

        public TaskHubGrpcServer Server { get; }

        public CancellationToken ApplicationStarted => new(canceled: true);

        public CancellationToken ApplicationStopping => CancellationToken.None;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }

        public Task EndAsync() => _store.CloseSessionAsync(_session);
    }
}
