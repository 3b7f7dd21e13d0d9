using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.Runtime.Actors;

public static class ActorsRegistration
{
    /// <summary>Runtime-wide actor services: placement, activations and turns, state, reminders and their scheduler.</summary>
    public static IServiceCollection AddActorRuntime(this IServiceCollection services)
    {
        services.AddHttpClient<AppActorChannel>();
        services.AddSingleton<ActorPlacement>();
        services.AddSingleton<ActorStateStore>();
        services.AddSingleton<ReminderStore>();
        services.AddSingleton<ActiveActors>();
        services.AddHostedService(sp => sp.GetRequiredService<ActiveActors>());
        services.AddSingleton<ReminderScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ReminderScheduler>());
        return services;
    }

    /// <summary>Per sidecar: the runtime-wide actor services and discovery of the app's actor types.</summary>
    public static IServiceCollection AddSidecarActors(this IServiceCollection services, IServiceProvider runtimeServices)
    {
        services.AddSingleton(runtimeServices.GetRequiredService<ActorPlacement>());
        services.AddSingleton(runtimeServices.GetRequiredService<ActiveActors>());
        services.AddSingleton(runtimeServices.GetRequiredService<AppActorChannel>());
        services.AddSingleton(runtimeServices.GetRequiredService<ActorStateStore>());
        services.AddSingleton(runtimeServices.GetRequiredService<ReminderStore>());
        services.AddSingleton(runtimeServices.GetRequiredService<ReminderScheduler>());
        services.AddHostedService<ActorDiscovery>();
        return services;
    }
}
