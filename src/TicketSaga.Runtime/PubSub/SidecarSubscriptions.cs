using TicketSaga.Runtime.Components;

namespace TicketSaga.Runtime.PubSub;

/// <summary>The subscriptions one sidecar delivers to, once discovered (for metadata and tests).</summary>
public sealed class SidecarSubscriptions
{
    private readonly TaskCompletionSource<IReadOnlyList<SubscriptionDefinition>> _discovered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Empty until the app answered <c>GET /dapr/subscribe</c> (or has no such endpoint).</summary>
    public IReadOnlyList<SubscriptionDefinition> Current => _discovered.Task.IsCompletedSuccessfully ? _discovered.Task.Result : [];

    /// <summary>Completes when discovery is over: delivery starts then.</summary>
    public Task<IReadOnlyList<SubscriptionDefinition>> Discovered => _discovered.Task;

    internal void Set(IReadOnlyList<SubscriptionDefinition> subscriptions) => _discovered.TrySetResult(subscriptions);
}
