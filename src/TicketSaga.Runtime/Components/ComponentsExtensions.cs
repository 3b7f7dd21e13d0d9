using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.Runtime.Components;

public static class ComponentsExtensions
{
    /// <summary>Loads the resources folder and the Configuration now, so a bad file stops the runtime from starting.</summary>
    public static IServiceCollection AddRuntimeComponents(this IServiceCollection services, IReadOnlyList<string> resourcesPaths, string? configFilePath) =>
        services.AddSingleton(ResourceLoader.Load(resourcesPaths, configFilePath));
}
