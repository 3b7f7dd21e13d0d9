namespace TicketSaga.Gateway.Admission;

public static class AdmissionExtensions
{
    public static IServiceCollection AddOrderAdmission(this IServiceCollection services)
    {
        services.AddOptions<WaitingRoomOptions>()
            .BindConfiguration(WaitingRoomOptions.SectionName)
            .Validate(o => o.AdmissionsPerSecond > 0 && o.Events.Values.All(e => e.AdmissionsPerSecond is null or > 0), "WaitingRoom:AdmissionsPerSecond must be positive")
            .Validate(o => o.MaxQueueLength > 0, "WaitingRoom:MaxQueueLength must be positive")
            .Validate(o => o.PlaceLifetime > TimeSpan.Zero, "WaitingRoom:PlaceLifetime must be positive")
            .Validate(o => o.MaxRetryAfter >= TimeSpan.FromSeconds(1) && o.MaxRetryAfter <= TimeSpan.FromMinutes(5), "WaitingRoom:MaxRetryAfter must be between 1 s and 5 min")
            .Validate(o => o.HasValidTokenKey(), "WaitingRoom:TokenKey must be empty or base64 of at least 32 bytes")
            .ValidateOnStart();
        services.AddSingleton<QueueTokens>();
        services.AddSingleton<WaitingRoom>();
        services.AddSingleton<TicketAvailability>();
        services.AddSingleton<OrderAdmission>();
        services.AddSingleton(TimeProvider.System);
        return services;
    }
}
