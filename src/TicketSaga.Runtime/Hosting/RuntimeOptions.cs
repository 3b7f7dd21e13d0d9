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
}
