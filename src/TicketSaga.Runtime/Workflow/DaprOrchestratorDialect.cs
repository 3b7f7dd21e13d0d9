using Google.Protobuf;
using DaprProtocol = Dapr.DurableTask.Protobuf;
using Upstream = Microsoft.DurableTask.Protobuf;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// Dapr.Workflow speaks Dapr's fork of the Durable Task orchestrator protocol. Its orchestrator
/// responses carry fields at numbers where the upstream engine has other fields (a task execution
/// id where upstream expects a trace context, routers for cross-app calls, a workflow version), so
/// they are read with Dapr's message types, those fields cleared, and the rest handed to the
/// upstream engine. Everything else is wire-compatible.
/// </summary>
internal static class DaprOrchestratorDialect
{
    public static Upstream.OrchestratorResponse ToUpstream(ReadOnlySpan<byte> daprWorkflowResponse)
    {
        var response = DaprProtocol.WorkflowResponse.Parser.ParseFrom(daprWorkflowResponse);
        response.Version = null;
        foreach (var action in response.Actions)
        {
            action.Router = null;
            if (action.ScheduleTask is { } scheduleTask)
            {
                scheduleTask.Router = null;
                scheduleTask.TaskExecutionId = "";
            }

            if (action.CreateChildWorkflow is { } createChildWorkflow)
            {
                createChildWorkflow.Router = null;
            }
        }

        return Upstream.OrchestratorResponse.Parser.ParseFrom(response.ToByteString());
    }
}
