namespace TicketSaga.Runtime.Components;

/// <summary>A metadata item of a component: a literal value or a reference into a secret store.</summary>
public sealed record ComponentMetadataItem(string Name, string? Value, SecretKeyRef? SecretKeyRef);

public sealed record SecretKeyRef(string Name, string? Key);

/// <summary>A `kind: Component` resource (dapr.io/v1alpha1).</summary>
public sealed record ComponentDefinition(
    string Name,
    string Type,
    string Version,
    IReadOnlyList<ComponentMetadataItem> Metadata,
    IReadOnlyList<string> Scopes,
    string SourceFile)
{
    public bool IsVisibleTo(string appId) => Scopes.Count == 0 || Scopes.Contains(appId, StringComparer.Ordinal);

    public string? MetadataValue(string name) =>
        Metadata.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))?.Value;
}

/// <summary>A routing rule of a subscription: deliver to <paramref name="Path"/> when <paramref name="Match"/> holds.</summary>
public sealed record SubscriptionRule(string Match, string Path);

public enum SubscriptionSource
{
    Declarative,
    Programmatic,
}

/// <summary>
/// A subscription of one app to one topic, from a `kind: Subscription` resource or from the app's
/// <c>GET /dapr/subscribe</c>. Rules are tried in order; <see cref="DefaultRoute"/> takes the rest.
/// </summary>
public sealed record SubscriptionDefinition(
    string PubsubName,
    string Topic,
    string? DefaultRoute,
    IReadOnlyList<SubscriptionRule> Rules,
    string? DeadLetterTopic,
    IReadOnlyList<string> Scopes,
    SubscriptionSource Source,
    string Origin)
{
    public bool IsVisibleTo(string appId) => Scopes.Count == 0 || Scopes.Contains(appId, StringComparer.Ordinal);
}
