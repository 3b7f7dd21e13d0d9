using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.Runtime.Hosting;

/// <summary>What the runtime's own tables keep, and for how long (periods by rule name in <see cref="RuntimeOptions.Retention"/>).</summary>
public static class RuntimeRetention
{
    /// <summary>
    /// Published messages, a week as Kafka keeps them by default, unless still owed to a subscriber
    /// (pending) or audited as a dead letter.
    /// </summary>
    public static RetentionRule PubSubLog { get; } = new("pubsub-log", "pubsub_messages", "published_at", TimeSpan.FromDays(7),
        "NOT EXISTS (SELECT 1 FROM pubsub_pending p WHERE p.seq = t.seq) AND NOT EXISTS (SELECT 1 FROM pubsub_dead_letters d WHERE d.seq = t.seq)");

    /// <summary>The dead-letter audit, a month: long enough for someone to look and replay.</summary>
    public static RetentionRule DeadLetters { get; } = new("dead-letters", "pubsub_dead_letters", "recorded_at", TimeSpan.FromDays(30));

    /// <summary>Actor state saved with a TTL, once it has expired (reads already ignore it).</summary>
    public static RetentionRule ExpiredActorState { get; } = new("actor-state", "actor_state", "expires_at", TimeSpan.Zero);

    /// <summary>State API values saved with a TTL, once expired (reads already ignore them).</summary>
    public static RetentionRule ExpiredState { get; } = new("state", "state", "expires_at", TimeSpan.Zero);

    /// <summary>
    /// Workflow instances that have completed, failed or been terminated, with their history, a week
    /// after they ended (at once by the SDK's purge); active ones are never purged.
    /// </summary>
    public static RetentionRule EndedWorkflows { get; } = new("workflows", "workflow_instances", "completed_at", TimeSpan.FromDays(7));

    public static IServiceCollection AddRuntimeRetention(this IServiceCollection services, RetentionOptions retention)
    {
        services.AddSingleton(Options.Create(retention));
        services.TryAddSingleton(TimeProvider.System);
        // Dead letters first: a message whose audit has just gone may go in the same pass.
        foreach (var rule in new[] { DeadLetters, PubSubLog, ExpiredActorState, ExpiredState, EndedWorkflows })
        {
            services.AddSingleton(rule);
        }

        return services
            .AddSingleton<RetentionSweeper>()
            .AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
    }
}
