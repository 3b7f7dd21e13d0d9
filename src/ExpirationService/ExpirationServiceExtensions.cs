namespace TicketSaga.ExpirationService;

public static class ExpirationServiceExtensions
{
    /// <summary>The expiration service's own wiring: its options, the Dapr client it publishes with and the hold timer actor.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ExpirationOptions>()
            .BindConfiguration(ExpirationOptions.SectionName)
            .Validate(o => o.OutcomeRetention > TimeSpan.Zero, "Expiration:OutcomeRetention must be positive")
            .ValidateOnStart();
        builder.Services.AddDaprClient();
        builder.Services.AddActors(options => options.Actors.RegisterActor<ReservationTimer>());
        return builder;
    }
}
