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

    /// <summary>The secret store its <c>secretKeyRef</c> items are read from (<c>auth.secretStore</c>).</summary>
    public string? AuthSecretStore { get; init; }

    public string? MetadataValue(string name) =>
        Metadata.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase))?.Value;

    /// <summary>Whether a pub/sub's <c>allowedTopics</c> and <c>publishingScopes</c> let the app publish to the topic.</summary>
    public bool AllowsPublishing(string appId, string topic) => TopicAllowed(topic, ScopedTopics("publishingScopes", appId));

    /// <summary>Whether a pub/sub's <c>allowedTopics</c> and <c>subscriptionScopes</c> let the app receive the topic.</summary>
    public bool AllowsSubscribing(string appId, string topic) => TopicAllowed(topic, ScopedTopics("subscriptionScopes", appId));

    /// <summary>
    /// Dapr's rule: a topic outside a non-empty <c>allowedTopics</c> is refused to everyone; an app absent
    /// from the scopes may use every (allowed) topic, an app listed only the topics listed for it
    /// (<c>app=</c> with none: no topic at all).
    /// </summary>
    private bool TopicAllowed(string topic, IReadOnlyList<string>? scoped)
    {
        var allowedTopics = Split(MetadataValue("allowedTopics"), ',');
        if (allowedTopics.Count > 0 && !allowedTopics.Contains(topic, StringComparer.Ordinal))
        {
            return false;
        }

        return scoped is null || scoped.Contains(topic, StringComparer.Ordinal);
    }

    /// <summary>The topics listed for the app in <c>app1=topic1,topic2;app2=topic3</c>; null when the app is not listed.</summary>
    private List<string>? ScopedTopics(string key, string appId)
    {
        List<string>? topics = null;
        foreach (var entry in Split(MetadataValue(key), ';'))
        {
            var (app, list) = entry.IndexOf('=', StringComparison.Ordinal) is var at and >= 0 ? (entry[..at], entry[(at + 1)..]) : (entry, "");
            if (app == appId)
            {
                topics ??= [];
                topics.AddRange(list.Split(','));
            }
        }

        return topics;
    }

    private static List<string> Split(string? value, char separator) =>
        [.. string.Concat((value ?? "").Where(c => !char.IsWhiteSpace(c))).Split(separator, StringSplitOptions.RemoveEmptyEntries)];
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

    /// <summary>Metadata <c>rawPayload: "true"</c>: every message arrives as a CloudEvent whose <c>data_base64</c> is the message as published.</summary>
    public bool RawPayload { get; init; }

    /// <summary><c>bulkSubscribe</c>: messages arrive in batches, answered per entry; null delivers one at a time.</summary>
    public BulkSubscribeOptions? BulkSubscribe { get; init; }
}

/// <summary>Dapr's <c>bulkSubscribe</c> settings (daprd's defaults: 100 messages, 1000 ms).</summary>
public sealed record BulkSubscribeOptions(int MaxMessagesCount = 100, int MaxAwaitDurationMs = 1000);

/// <summary>A Configuration's <c>secrets.scopes</c> entry: which secrets of one store the app may read.</summary>
public sealed record SecretScope(string StoreName, AccessAction DefaultAccess, IReadOnlyList<string> AllowedSecrets, IReadOnlyList<string> DeniedSecrets);
