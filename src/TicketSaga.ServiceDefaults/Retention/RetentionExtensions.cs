using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;

namespace TicketSaga.ServiceDefaults.Retention;

public static class RetentionExtensions
{
    /// <summary>The service's retention rules and the sweeper that applies them (settings under <c>Retention</c>).</summary>
    public static IHostApplicationBuilder AddRetention(this IHostApplicationBuilder builder, params RetentionRule[] rules)
    {
        builder.Services.AddOptions<RetentionOptions>()
            .BindConfiguration(RetentionOptions.SectionName)
            .Validate(o => o.Interval > TimeSpan.Zero, "Retention:Interval must be positive")
            .Validate(o => o.BatchSize > 0, "Retention:BatchSize must be positive")
            .Validate(o => o.Periods.Values.All(p => p > TimeSpan.Zero), "Retention:Periods must be positive")
            .ValidateOnStart();
        foreach (var rule in rules)
        {
            builder.Services.AddSingleton(rule);
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RetentionSweeper>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RetentionSweeper>());
        return builder;
    }
}
