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
        builder.Services.AddActors(options =>
        {
            options.Actors.RegisterActor<ReservationTimer>();
            // A timer is touched at reserve and at expiry, and its reminder lives in the state store; Dapr's default
            // idle timeout (1 h) kept every order of the last hour active here and in the sidecar.
            options.ActorIdleTimeout = TimeSpan.FromMinutes(1);
            options.ActorScanInterval = TimeSpan.FromSeconds(30);
        });
        return builder;
    }
}
