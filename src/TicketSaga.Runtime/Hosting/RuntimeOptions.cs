using TicketSaga.Runtime.PubSub;
using TicketSaga.Runtime.Workflow;
using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.Runtime.Hosting;

/// <summary>Settings shared by every sidecar of one embedded runtime.</summary>
public sealed record RuntimeOptions
{
    /// <summary>PostgreSQL for the runtime's own durable state (pub/sub log, reminders, actor state, workflows).</summary>
    public required string PostgresConnectionString { get; init; }

    /// <summary>The runtime's database inside that server.</summary>
    public string Database { get; init; } = "dapr_runtime";

    /// <summary>
    /// The components folders (resiliency, subscriptions, pub/sub...), in order, like daprd's repeated
    /// --resources-path (e.g. the shared folder and the environment's folder); none uses built-in defaults.
    /// </summary>
    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];

    /// <summary>
    /// The Configuration every sidecar applies (daprd's --config, the run file's configFilePath): its
    /// accessControl decides who may invoke what. None allows every call, as daprd does without one.
    /// </summary>
    public string? ConfigFilePath { get; init; }

    /// <summary>How long the pub/sub log, the dead letters and expired actor state are kept (<see cref="RuntimeRetention"/>).</summary>
    public RetentionOptions Retention { get; init; } = new();

    /// <summary>The workflow engine's locks and polling (<see cref="WorkflowStore"/>).</summary>
    public WorkflowOptions Workflows { get; init; } = new();

    /// <summary>Duplicate or reordered deliveries for chaos runs; none by default.</summary>
    public DeliveryFaults DeliveryFaults { get; init; } = DeliveryFaults.None;
}
