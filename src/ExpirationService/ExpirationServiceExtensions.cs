namespace TicketSaga.ExpirationService;

public static class ExpirationServiceExtensions
{
    /// <summary>The expiration service's own wiring: the Dapr client it publishes with and the hold timer actor.</summary>
    public static IHostApplicationBuilder AddApplicationServices(this IHostApplicationBuilder builder)
    {
        builder.Services.AddDaprClient();
        builder.Services.AddActors(options => options.Actors.RegisterActor<ReservationTimer>());
        return builder;
    }
}
