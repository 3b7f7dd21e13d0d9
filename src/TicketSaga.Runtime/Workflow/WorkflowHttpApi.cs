using System.Text;
using Dapr.Client.Autogen.Grpc.v1;
using DurableTask.Core;
using DurableTask.Core.Exceptions;
using DurableTask.Core.History;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using TicketSaga.Runtime.Api;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// Dapr's workflow HTTP API (<c>/v1.0-alpha1</c>, <c>/v1.0-beta1</c> and <c>/v1.0/workflows/&lt;component&gt;/…</c>) over
/// the app's task hub, through the same client calls as its gRPC <c>TaskHubSidecarService</c>. As in daprd since
/// 1.15, the component segment names the built-in engine whatever it says; bodies are the input or event data as
/// sent, and answers, status codes and error codes are daprd's (pkg/api/http/workflow.go, pkg/api/universal/workflow.go).
/// </summary>
public static class WorkflowHttpApi
{
    /// <summary>daprd bounds instance ids (in bytes) for state stores with short keys.</summary>
    private const int MaxInstanceIdBytes = 64;

    private const string NoSuchInstance = "no such instance exists";

    public static WebApplication MapWorkflowHttpApi(this WebApplication web)
    {
        foreach (var version in new[] { "v1.0-alpha1", "v1.0-beta1", "v1.0" })
        {
            var workflows = web.MapGroup($"/{version}/workflows/{{component}}");
            workflows.MapPost("/{workflowName}/start", StartAsync);
            workflows.MapGet("/{instanceId}", GetAsync);
            workflows.MapPost("/{instanceId}/raiseEvent/{eventName}", RaiseEventAsync);
            workflows.MapPost("/{instanceId}/terminate", TerminateAsync);
            workflows.MapPost("/{instanceId}/pause", PauseAsync);
            workflows.MapPost("/{instanceId}/resume", ResumeAsync);
            workflows.MapPost("/{instanceId}/purge", PurgeAsync);
        }

        return web;
    }

    private static async Task<IResult> StartAsync(string workflowName, [FromQuery(Name = "instanceID")] string? instanceId, HttpRequest request, WorkflowEngine engine)
    {
        instanceId = string.IsNullOrEmpty(instanceId) ? Guid.NewGuid().ToString() : instanceId;
        if (Encoding.UTF8.GetByteCount(instanceId) > MaxInstanceIdBytes)
        {
            return Error(StatusCodes.Status400BadRequest, "ERR_INSTANCE_ID_TOO_LONG", $"workflow instance ID exceeds the max length of {MaxInstanceIdBytes} characters");
        }

        if (!instanceId.EnumerateRunes().All(r => Rune.IsLetter(r) || Rune.IsDigit(r) || r.Value is '_' or '-'))
        {
            return Error(StatusCodes.Status400BadRequest, "ERR_INSTANCE_ID_INVALID", $"workflow instance ID '{instanceId}' is invalid: only alphanumeric and underscore characters are allowed");
        }

        var instance = new OrchestrationInstance { InstanceId = instanceId, ExecutionId = Guid.NewGuid().ToString() };
        var started = new ExecutionStartedEvent(-1, await ReadBodyAsync(request))
        {
            Name = workflowName,
            OrchestrationInstance = instance,
            Tags = new Dictionary<string, string>(),
        };
        try
        {
            await engine.Store.CreateTaskOrchestrationAsync(new TaskMessage { Event = started, OrchestrationInstance = instance });
        }
        catch (OrchestrationAlreadyExistsException exception)
        {
            return Error(StatusCodes.Status500InternalServerError, "ERR_START_WORKFLOW", $"error starting workflow '{workflowName}': unable to start workflow: {exception.Message}");
        }

        return Proto(new StartWorkflowResponse { InstanceId = instanceId }, StatusCodes.Status202Accepted);
    }

    private static async Task<IResult> GetAsync(string instanceId, WorkflowEngine engine)
    {
        if (await engine.Store.GetOrchestrationStateAsync(instanceId, executionId: null) is not { } state)
        {
            return NotFound(instanceId);
        }

        var workflow = new GetWorkflowResponse
        {
            InstanceId = instanceId,
            WorkflowName = state.Name,
            CreatedAt = Timestamp.FromDateTime(state.CreatedTime),
            LastUpdatedAt = Timestamp.FromDateTime(state.LastUpdatedTime),
            RuntimeStatus = RuntimeStatus(state.OrchestrationStatus),
        };
        if (state.Status is { } customStatus)
        {
            workflow.Properties["dapr.workflow.custom_status"] = customStatus;
        }

        if (state.Input is { } input)
        {
            workflow.Properties["dapr.workflow.input"] = input;
        }

        // A failed workflow's result is its failure, reported as such and not as output.
        if (state.FailureDetails is { } failure)
        {
            workflow.Properties["dapr.workflow.failure.error_type"] = failure.ErrorType;
            workflow.Properties["dapr.workflow.failure.error_message"] = failure.ErrorMessage;
            if (failure.StackTrace is { } stackTrace)
            {
                workflow.Properties["dapr.workflow.failure.stack_trace"] = stackTrace;
            }
        }
        else if (state.Output is { } output)
        {
            workflow.Properties["dapr.workflow.output"] = output;
        }

        return Proto(workflow, StatusCodes.Status200OK);
    }

    /// <summary>An event for an instance that has ended is dropped, and still accepted, as daprd does.</summary>
    private static async Task<IResult> RaiseEventAsync(string instanceId, string eventName, HttpRequest request, WorkflowEngine engine)
    {
        if (!await ExistsAsync(engine, instanceId))
        {
            return Error(StatusCodes.Status500InternalServerError, "ERR_RAISE_EVENT_WORKFLOW",
                $"error raising event on workflow '{instanceId}': failed to raise event {eventName} on workflow {instanceId}: {NoSuchInstance}");
        }

        await SendAsync(engine, instanceId, new EventRaisedEvent(-1, await ReadBodyAsync(request)) { Name = eventName });
        return Accepted();
    }

    private static async Task<IResult> TerminateAsync(string instanceId, WorkflowEngine engine)
    {
        if (!await ExistsAsync(engine, instanceId))
        {
            return NotFound(instanceId);
        }

        await engine.Store.TerminateAsync(instanceId, reason: null, recursive: true);
        return Accepted();
    }

    private static async Task<IResult> PauseAsync(string instanceId, WorkflowEngine engine)
    {
        if (!await ExistsAsync(engine, instanceId))
        {
            return Error(StatusCodes.Status500InternalServerError, "ERR_PAUSE_WORKFLOW", $"error pausing workflow {instanceId}: failed to pause workflow {instanceId}: {NoSuchInstance}");
        }

        await SendAsync(engine, instanceId, new ExecutionSuspendedEvent(-1, reason: null));
        return Accepted();
    }

    private static async Task<IResult> ResumeAsync(string instanceId, WorkflowEngine engine)
    {
        if (!await ExistsAsync(engine, instanceId))
        {
            return Error(StatusCodes.Status500InternalServerError, "ERR_RESUME_WORKFLOW", $"error resuming workflow {instanceId}: failed to resume workflow {instanceId}: {NoSuchInstance}");
        }

        await SendAsync(engine, instanceId, new ExecutionResumedEvent(-1, reason: null));
        return Accepted();
    }

    /// <summary>Only an ended instance is purged; a running one is refused and kept, as daprd refuses it.</summary>
    private static async Task<IResult> PurgeAsync(string instanceId, WorkflowEngine engine)
    {
        if (await engine.Store.PurgeAsync(instanceId, recursive: true) > 0)
        {
            return Accepted();
        }

        return await ExistsAsync(engine, instanceId)
            ? Error(StatusCodes.Status500InternalServerError, "ERR_PURGE_WORKFLOW", $"error purging workflow {instanceId}: failed to purge workflow {instanceId}: workflow has not yet completed")
            : NotFound(instanceId);
    }

    private static async Task<bool> ExistsAsync(WorkflowEngine engine, string instanceId) =>
        await engine.Store.GetOrchestrationStateAsync(instanceId, executionId: null) is not null;

    private static Task SendAsync(WorkflowEngine engine, string instanceId, HistoryEvent message) =>
        engine.Store.SendTaskOrchestrationMessageAsync(new TaskMessage { OrchestrationInstance = new OrchestrationInstance { InstanceId = instanceId }, Event = message });

    /// <summary>daprd passes the body on as text without reading it as JSON.</summary>
    private static async Task<string> ReadBodyAsync(HttpRequest request)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8);
        return await reader.ReadToEndAsync(request.HttpContext.RequestAborted);
    }

    /// <summary>daprd's names for the Durable Task statuses (the same numbering on both sides).</summary>
    private static string RuntimeStatus(OrchestrationStatus status) => status switch
    {
        OrchestrationStatus.Running => "RUNNING",
        OrchestrationStatus.Completed => "COMPLETED",
        OrchestrationStatus.ContinuedAsNew => "CONTINUED_AS_NEW",
        OrchestrationStatus.Failed => "FAILED",
        OrchestrationStatus.Canceled => "CANCELED",
        OrchestrationStatus.Terminated => "TERMINATED",
        OrchestrationStatus.Pending => "PENDING",
        OrchestrationStatus.Suspended => "SUSPENDED",
        _ => "UNKNOWN",
    };

    /// <summary>daprd answers with the proto message in protojson (its json_names, unset fields left out).</summary>
    private static IResult Proto(IMessage message, int statusCode) =>
        Results.Text(JsonFormatter.Default.Format(message), "application/json", Encoding.UTF8, statusCode);

    /// <summary>daprd answers the operations that return nothing with an empty JSON object.</summary>
    private static IResult Accepted() => Proto(new Empty(), StatusCodes.Status202Accepted);

    private static IResult NotFound(string instanceId) =>
        Error(StatusCodes.Status404NotFound, "ERR_INSTANCE_ID_NOT_FOUND", $"unable to find workflow with the provided instance ID: {instanceId}");

    private static IResult Error(int statusCode, string errorCode, string message) => Results.Json(new DaprError(errorCode, message), statusCode: statusCode);
}
