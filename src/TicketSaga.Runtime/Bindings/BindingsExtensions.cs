using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.Runtime.Bindings;

public static class BindingsExtensions
{
    /// <summary>One sidecar's output bindings and the delivery of its input bindings to the app.</summary>
    public static IServiceCollection AddSidecarBindings(this IServiceCollection services) => services
        .AddSingleton<OutputBindings>()
        .AddHostedService<InputBindingDelivery>();
}
