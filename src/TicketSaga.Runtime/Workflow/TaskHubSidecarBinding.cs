using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.DurableTask.Protobuf;
using DaprProtocol = Dapr.DurableTask.Protobuf;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// Binds the <c>TaskHubSidecarService</c> methods Dapr.Workflow 1.18.7 calls to the app's
/// <see cref="WorkflowEngine"/>. RerunWorkflowFromEvent stays unbound and answers Unimplemented.
/// </summary>
internal sealed class TaskHubSidecarBinding : IServiceMethodProvider<WorkflowEngine>
{
    private const string Service = "TaskHubSidecarService";

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<WorkflowEngine> context)
    {
        Unary<Empty, Empty>(context, "Hello", (engine, request, call) => engine.Server.Hello(request, call));
        Unary<CreateInstanceRequest, CreateInstanceResponse>(context, "StartInstance", (engine, request, call) => engine.Server.StartInstance(request, call));
        Unary<GetInstanceRequest, GetInstanceResponse>(context, "GetInstance", (engine, request, call) => engine.Server.GetInstance(request, call));
        Unary<GetInstanceRequest, GetInstanceResponse>(context, "WaitForInstanceStart", (engine, request, call) => engine.Server.WaitForInstanceStart(request, call));
        Unary<GetInstanceRequest, GetInstanceResponse>(context, "WaitForInstanceCompletion", (engine, request, call) => engine.Server.WaitForInstanceCompletion(request, call));
        Unary<RaiseEventRequest, RaiseEventResponse>(context, "RaiseEvent", (engine, request, call) => engine.Server.RaiseEvent(request, call));
        Unary<TerminateRequest, TerminateResponse>(context, "TerminateInstance", (engine, request, call) => engine.TerminateInstance(request, call));
        Unary<SuspendRequest, SuspendResponse>(context, "SuspendInstance", (engine, request, call) => engine.Server.SuspendInstance(request, call));
        Unary<ResumeRequest, ResumeResponse>(context, "ResumeInstance", (engine, request, call) => engine.Server.ResumeInstance(request, call));
        Unary<PurgeInstancesRequest, PurgeInstancesResponse>(context, "PurgeInstances", (engine, request, call) => engine.PurgeInstances(request, call));
        Unary<ActivityResponse, CompleteTaskResponse>(context, "CompleteActivityTask", (engine, request, call) => engine.CompleteActivityTask(request, call));
        Unary<DaprProtocol.ListInstanceIDsRequest, DaprProtocol.ListInstanceIDsResponse>(context, "ListInstanceIDs", (engine, request, call) => engine.ListInstanceIds(request, call));
        Unary<DaprProtocol.GetInstanceHistoryRequest, DaprProtocol.GetInstanceHistoryResponse>(context, "GetInstanceHistory", (engine, request, call) => engine.GetInstanceHistory(request, call));

        // Dapr's workflow responses need translating; both method names carry them.
        var daprWorkflowResponse = Marshallers.Create(
            (OrchestratorResponse response) => response.ToByteArray(),
            bytes => DaprOrchestratorDialect.ToUpstream(bytes));
        foreach (var name in new[] { "CompleteOrchestratorTask", "CompleteWorkflowTask" })
        {
            context.AddUnaryMethod(
                new Method<OrchestratorResponse, CompleteTaskResponse>(MethodType.Unary, Service, name, daprWorkflowResponse, MarshallerOf<CompleteTaskResponse>()),
                [],
                (engine, request, call) => engine.CompleteOrchestratorTask(request, call));
        }

        context.AddServerStreamingMethod(
            new Method<GetWorkItemsRequest, WorkItem>(MethodType.ServerStreaming, Service, "GetWorkItems", MarshallerOf<GetWorkItemsRequest>(), MarshallerOf<WorkItem>()),
            [],
            (engine, request, stream, call) => engine.GetWorkItems(request, stream, call));
    }

    private static void Unary<TRequest, TResponse>(
        ServiceMethodProviderContext<WorkflowEngine> context, string name, UnaryServerMethod<WorkflowEngine, TRequest, TResponse> handler)
        where TRequest : class, IMessage<TRequest>, new()
        where TResponse : class, IMessage<TResponse>, new() =>
        context.AddUnaryMethod(new Method<TRequest, TResponse>(MethodType.Unary, Service, name, MarshallerOf<TRequest>(), MarshallerOf<TResponse>()), [], handler);

    private static Marshaller<T> MarshallerOf<T>() where T : class, IMessage<T>, new()
    {
        var parser = new MessageParser<T>(() => new T());
        return Marshallers.Create((T message) => message.ToByteArray(), parser.ParseFrom);
    }
}
