namespace TicketSaga.Runtime.Hosting;

/// <summary>Settings shared by every sidecar of one embedded runtime.</summary>
public sealed record RuntimeOptions
{
    /// <summary>PostgreSQL for the runtime's own durable state (pub/sub log, reminders, actor state).</summary>
    public required string PostgresConnectionString { get; init; }

    /// <summary>The runtime's database inside that server.</summary>
    public string Database { get; init; } = "dapr_runtime";

    /// <summary>The components folder (resiliency, subscriptions, pub/sub...); null uses built-in defaults.</summary>
    public string? ResourcesPath { get; init; }

    /// <summary>
    /// Every resources folder, in order, like daprd's repeated --resources-path (e.g. the shared
    /// resiliency folder and the environment's folder); <see cref="ResourcesPath"/> is the last one.
    /// </summary>
    public IReadOnlyList<string> ResourcesPaths { get; init; } = [];
}
