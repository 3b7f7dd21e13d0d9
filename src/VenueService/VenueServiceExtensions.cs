using Microsoft.Extensions.DependencyInjection.Extensions;

namespace TicketSaga.VenueService;

public static class VenueServiceExtensions
{
    /// <summary>The venue service's own wiring: gRPC, the stores and the reclaimer of abandoned holds.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddGrpc();
        builder.Services.AddOptions<VenueOptions>()
            .Bind(builder.Configuration.GetSection(VenueOptions.SectionName))
            .Validate(o => o.AbandonedHoldGrace >= TimeSpan.Zero, "Venue:AbandonedHoldGrace must not be negative")
            .Validate(o => o.ReclaimInterval > TimeSpan.Zero, "Venue:ReclaimInterval must be positive")
            .Validate(o => o.MaxSeatsPerReservation > 0, "Venue:MaxSeatsPerReservation must be positive")
            .Validate(o => o.MaxHoldDuration > TimeSpan.Zero, "Venue:MaxHoldDuration must be positive")
            .Validate(o => o.TombstoneRetention >= o.MaxHoldDuration, "Venue:TombstoneRetention must be at least Venue:MaxHoldDuration")
            .ValidateOnStart();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<SeatPlanStore>();
        builder.Services.AddSingleton<SeatHoldStore>();
        builder.Services.AddSingleton<SeatHoldOutcomeStore>();
        builder.Services.AddSingleton<SeatReclaimStore>();
        builder.Services.AddHostedService<AbandonedHoldReclaimer>();
        return builder;
    }
}
