using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace TicketSaga.Outbox;

public static class OutboxExtensions
{
    /// <summary>
    /// The outbox relay (settings under <c>Outbox</c>) and the signal that wakes it after a commit. The
    /// table comes from this assembly's migration: pass it to <c>AddPostgres</c> before the service's own.
    /// </summary>
    public static IHostApplicationBuilder AddOutboxRelay(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<OutboxOptions>()
            .BindConfiguration(OutboxOptions.SectionName)
            .Validate(o => o.BatchSize > 0, "Outbox:BatchSize must be positive")
            .Validate(o => o.PollInterval > TimeSpan.Zero, "Outbox:PollInterval must be positive")
            .Validate(o => o.MaxBackoff > TimeSpan.Zero, "Outbox:MaxBackoff must be positive")
            .ValidateOnStart();
        builder.Services.AddSingleton<OutboxSignal>();
        builder.Services.AddSingleton<OutboxRelay>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<OutboxRelay>());
        return builder;
    }
}
