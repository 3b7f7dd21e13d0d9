namespace TicketSaga.Runtime.Components;

/// <summary>One `kind: Resiliency` resource: targets by component direction and by app id.</summary>
public sealed record ResiliencyDocument(
    string Name,
    IReadOnlyList<string> Scopes,
    IReadOnlyDictionary<(string Component, string Direction), ResiliencyTarget> Components,
    IReadOnlyDictionary<string, ResiliencyTarget> Apps,
    string SourceFile)
{
    public bool IsVisibleTo(string appId) => Scopes.Count == 0 || Scopes.Contains(appId, StringComparer.Ordinal);
}

/// <summary>Everything read from the resources folder, with the per-app views daprd would have.</summary>
public sealed class RuntimeResources(
    IReadOnlyList<ComponentDefinition> components,
    IReadOnlyList<ResiliencyDocument> resiliencies,
    IReadOnlyList<SubscriptionDefinition> subscriptions)
{
    public IReadOnlyList<ComponentDefinition> Components => components;

    /// <summary>The Configuration's accessControl (daprd's --config); null allows every call, as daprd does without one.</summary>
    public AccessControl? AccessControl { get; init; }

    /// <summary>The Configuration's <c>secrets.scopes</c>; none lets the app read every secret of its stores, as daprd does.</summary>
    public IReadOnlyList<SecretScope> SecretScopes { get; init; } = [];

    public IReadOnlyList<SubscriptionDefinition> Subscriptions => subscriptions;

    /// <summary>The components an app can see (a component scoped to other apps is invisible to it).</summary>
    public IReadOnlyList<ComponentDefinition> ComponentsFor(string appId) => [.. components.Where(c => c.IsVisibleTo(appId))];

    public ComponentDefinition? PubSubFor(string appId, string pubsubName) =>
        components.FirstOrDefault(c => c.Name == pubsubName && c.Type.StartsWith("pubsub.", StringComparison.Ordinal) && c.IsVisibleTo(appId));

    public IReadOnlyList<SubscriptionDefinition> DeclarativeSubscriptionsFor(string appId) => [.. subscriptions.Where(s => s.IsVisibleTo(appId))];

    /// <summary>
    /// The policy for delivering a component's messages to an app (its inbound direction); without
    /// one, our default (exponential, 3 retries) applies rather than Kafka's retry-forever.
    /// </summary>
    public ResiliencyTarget InboundFor(string appId, string componentName) =>
        resiliencies.Where(r => r.IsVisibleTo(appId))
            .Select(r => r.Components.GetValueOrDefault((componentName, "inbound")))
            .LastOrDefault(t => t is not null) is { } target
            ? target with { Retry = target.Retry ?? RetryPolicy.Default }
            : new ResiliencyTarget(RetryPolicy.Default, null, null);

    /// <summary>The resiliency declared for calls to <paramref name="targetAppId"/>, if any.</summary>
    public ResiliencyTarget? AppTargetFor(string callerAppId, string targetAppId) =>
        resiliencies.Where(r => r.IsVisibleTo(callerAppId))
            .Select(r => r.Apps.GetValueOrDefault(targetAppId))
            .LastOrDefault(t => t is not null);
}
