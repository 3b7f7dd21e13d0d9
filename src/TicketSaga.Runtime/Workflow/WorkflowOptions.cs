namespace TicketSaga.Runtime.Workflow;

/// <summary>How the workflow engine holds and looks for work (<see cref="Hosting.RuntimeOptions.Workflows"/>).</summary>
public sealed record WorkflowOptions
{
    /// <summary>
    /// How long a work item's lock lasts unless renewed (a live runtime renews it every third of this):
    /// how soon the work of a runtime that died is taken over by another, or by itself restarted.
    /// </summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// How often an idle dispatcher looks for work this process was not told about: work written by
    /// another runtime on the same database, or whose lock has expired. Timers are waited for exactly.
    /// </summary>
    public TimeSpan IdlePollInterval { get; init; } = TimeSpan.FromSeconds(1);
}
