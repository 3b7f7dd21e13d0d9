using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.Outbox;

public static class OutboxExtensions
{
    /// <summary>Published rows are kept a week (<c>Retention:Periods:outbox</c>), then deleted by the service's sweeper.</summary>
    public static RetentionRule PublishedRowsRetention { get; } = new("outbox", "outbox", "published_at", TimeSpan.FromDays(7));

    /// <summary>
    /// The outbox relay (settings under <c>Outbox</c>) and the signal that wakes it after a commit. The
    /// table comes from this assembly's migration: pass it to <c>AddPostgres</c> before the service's own.
    /// Published rows go after <see cref="PublishedRowsRetention"/> once the service adds its retention sweeper.
    /// </summary>
    public static IHostApplicationBuilder AddOutboxRelay(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OutboxOptions>()
            .BindConfiguration(OutboxOptions.SectionName)
            .Validate(o => o.BatchSize > 0, "Outbox:BatchSize must be positive")
            .Validate(o => o.PollInterval > TimeSpan.Zero, "Outbox:PollInterval must be positive")
            .Validate(o => o.MaxBackoff > TimeSpan.Zero, "Outbox:MaxBackoff must be positive")
            .ValidateOnStart();
        builder.Services.AddSingleton(PublishedRowsRetention);
        builder.Services.AddSingleton<OutboxSignal>();
        builder.Services.AddSingleton<OutboxRelay>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());
        return builder;
    }
}
