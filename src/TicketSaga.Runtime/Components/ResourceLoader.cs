using System.Globalization;
using System.Text.RegularExpressions;
using TicketSaga.Runtime.Bindings;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TicketSaga.Runtime.Components;

/// <summary>A resources folder the runtime refuses to start with; the message names file and line.</summary>
public sealed class ComponentLoadException(string message) : Exception(message);

/// <summary>
/// Reads a Dapr resources folder (every *.yaml / *.yml directly inside it, multi-document files
/// allowed): Component, Resiliency and Subscription resources; a Configuration there is ignored, as
/// daprd reads its Configuration only from --config (the run file's configFilePath).
/// </summary>
public static partial class ResourceLoader
{
    /// <summary>Component types the embedded runtime emulates on its own PostgreSQL.</summary>
    public static IReadOnlyList<string> SupportedComponentTypes { get; } =
        ["pubsub.kafka", "state.postgresql", "secretstores.local.file", "secretstores.local.env", "bindings.cron", "bindings.postgresql", "bindings.postgres"];

    /// <summary>No resources folder: a pub/sub named <c>pubsub</c> and the default retry policy.</summary>
    public static RuntimeResources BuiltInDefaults() => new(
        // Unlike Kafka's default, the built-in pub/sub starts a new consumer group from the oldest message:
        // with no component file to say so, a subscriber that starts after a publisher loses nothing.
        [new ComponentDefinition("pubsub", "pubsub.kafka", "v1", [new ComponentMetadataItem("initialOffset", "oldest", null)], [], "(built-in)")],
        [],
        []);

    /// <summary>
    /// Every resource of the folders, in order, like daprd's repeated --resources-path (none uses the
    /// built-in defaults), and the accessControl of the Configuration at <paramref name="configFilePath"/>
    /// (daprd's --config), if any.
    /// </summary>
    public static RuntimeResources Load(IReadOnlyList<string> resourcesPaths, string? configFilePath = null)
    {
        var (accessControl, secretScopes) = configFilePath is null ? (null, []) : LoadConfiguration(configFilePath);
        if (resourcesPaths.Count == 0)
        {
            return new RuntimeResources(BuiltInDefaults().Components, [], []) { AccessControl = accessControl, SecretScopes = secretScopes };
        }

        var missing = resourcesPaths.FirstOrDefault(path => !Directory.Exists(path));
        if (missing is not null)
        {
            throw new ComponentLoadException($"Resources folder '{missing}' does not exist.");
        }

        var components = new List<ComponentDefinition>();
        var resiliencies = new List<ResiliencyDocument>();
        var subscriptions = new List<SubscriptionDefinition>();
        var files = resourcesPaths.SelectMany(folder => Directory.EnumerateFiles(folder)
            .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
            .Order(StringComparer.Ordinal));
        foreach (var file in files)
        {
            foreach (var document in ReadDocuments(file))
            {
                new DocumentReader(file, document).Read(components, resiliencies, subscriptions);
            }
        }

        var duplicate = components.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ComponentLoadException(
                $"Component '{duplicate.Key}' is defined more than once: {string.Join(", ", duplicate.Select(c => c.SourceFile))}.");
        }

        return new RuntimeResources(components, resiliencies, subscriptions) { AccessControl = accessControl, SecretScopes = secretScopes };
    }

    private static (AccessControl?, IReadOnlyList<SecretScope>) LoadConfiguration(string configFilePath)
    {
        if (!File.Exists(configFilePath))
        {
            throw new ComponentLoadException($"Configuration file '{configFilePath}' does not exist.");
        }

        var documents = ReadDocuments(configFilePath);
        if (documents.Count != 1)
        {
            throw new ComponentLoadException($"{configFilePath}: expected one Configuration resource, found {documents.Count} documents.");
        }

        var reader = new DocumentReader(configFilePath, documents[0]);
        return (reader.ReadAccessControl(), reader.ReadSecretScopes());
    }

    private static List<YamlMappingNode> ReadDocuments(string file)
    {
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(file);
            stream.Load(reader);
        }
        catch (YamlException ex)
        {
            throw new ComponentLoadException($"{file}:{ex.Start.Line}: malformed YAML: {ex.InnerException?.Message ?? ex.Message}");
        }

        var documents = new List<YamlMappingNode>();
        foreach (var document in stream.Documents)
        {
            switch (document.RootNode)
            {
                case YamlMappingNode mapping:
                    documents.Add(mapping);
                    break;
                case YamlScalarNode { Value: null or "" }:
                    break;
                default:
                    throw new ComponentLoadException($"{file}:{document.RootNode.Start.Line}: expected a resource (a YAML mapping with apiVersion, kind, metadata and spec).");
            }
        }

        return documents;
    }

    /// <summary>Parses a Go duration such as <c>500ms</c>, <c>5s</c>, <c>1m30s</c>.</summary>
    public static TimeSpan ParseDuration(string text)
    {
        var matches = DurationPart().Matches(text.Trim());
        if (matches.Count == 0 || string.Concat(matches.Select(m => m.Value)) != text.Trim())
        {
            throw new FormatException($"'{text}' is not a duration (e.g. 500ms, 5s, 1m30s)");
        }

        double milliseconds = 0;
        foreach (Match match in matches)
        {
            var value = double.Parse(match.Groups["value"].Value, CultureInfo.InvariantCulture);
            milliseconds += match.Groups["unit"].Value switch
            {
                "ns" => value / 1_000_000,
                "us" or "µs" => value / 1000,
                "ms" => value,
                "s" => value * 1000,
                "m" => value * 60_000,
                _ => value * 3_600_000,
            };
        }

        return TimeSpan.FromMilliseconds(milliseconds);
    }

    [GeneratedRegex(@"(?<value>\d+(\.\d+)?)(?<unit>ns|us|µs|ms|s|m|h)")]
    private static partial Regex DurationPart();

    /// <summary>One resource document; every error it throws carries the file and the line.</summary>
    private sealed class DocumentReader(string file, YamlMappingNode root)
    {
        public void Read(List<ComponentDefinition> components, List<ResiliencyDocument> resiliencies, List<SubscriptionDefinition> subscriptions)
        {
            var kind = RequiredString(root, "kind");
            var name = RequiredString(Mapping(root, "metadata") ?? throw Error(root, "missing 'metadata'"), "name");
            var scopes = Strings(root, "scopes");
            switch (kind)
            {
                case "Component":
                    components.Add(ReadComponent(name, scopes));
                    break;
                case "Resiliency":
                    resiliencies.Add(ReadResiliency(name, scopes));
                    break;
                case "Subscription":
                    subscriptions.Add(ReadSubscription(name, scopes));
                    break;
                case "Configuration":
                    break;
                default:
                    throw Error(root, $"unknown kind '{kind}' (expected Component, Resiliency, Subscription or Configuration)");
            }
        }

        /// <summary>The <c>spec.accessControl</c> of a Configuration; null when it has none (every call allowed, as in daprd).</summary>
        public AccessControl? ReadAccessControl()
        {
            var kind = RequiredString(root, "kind");
            if (kind != "Configuration")
            {
                throw Error(root, $"expected kind Configuration, found '{kind}'");
            }

            if (Mapping(root, "spec") is not { } spec || Mapping(spec, "accessControl") is not { } accessControl)
            {
                return null;
            }

            var policies = new List<AppPolicy>();
            foreach (var item in Sequence(accessControl, "policies"))
            {
                var policy = item as YamlMappingNode ?? throw Error(item, "each accessControl policy is a mapping with appId, defaultAction and operations");
                var operations = new List<OperationPolicy>();
                foreach (var operationNode in Sequence(policy, "operations"))
                {
                    var operation = operationNode as YamlMappingNode ?? throw Error(operationNode, "each operation is a mapping with name, httpVerb and action");
                    operations.Add(new OperationPolicy(
                        RequiredString(operation, "name"),
                        Child(operation, "httpVerb") is null ? [] : Strings(operation, "httpVerb"),
                        Action(operation, "action") ?? throw Error(operation, "missing 'action'")));
                }

                policies.Add(new AppPolicy(
                    RequiredString(policy, "appId"),
                    OptionalString(policy, "trustDomain") is { Length: > 0 } trustDomain ? trustDomain : AccessControl.DefaultTrustDomain,
                    OptionalString(policy, "namespace") is { Length: > 0 } ns ? ns : AccessControl.DefaultNamespace,
                    Action(policy, "defaultAction"),
                    operations));
            }

            return new AccessControl(Action(accessControl, "defaultAction") ?? AccessAction.Allow, policies, file);
        }

        /// <summary>The <c>spec.secrets.scopes</c> of a Configuration: per secret store, which secrets the app may read.</summary>
        public IReadOnlyList<SecretScope> ReadSecretScopes()
        {
            if (Mapping(root, "spec") is not { } spec || Mapping(spec, "secrets") is not { } secrets)
            {
                return [];
            }

            return [.. Sequence(secrets, "scopes").Select(item =>
            {
                var scope = item as YamlMappingNode ?? throw Error(item, "each secrets scope is a mapping with storeName, defaultAccess, allowedSecrets and deniedSecrets");
                return new SecretScope(RequiredString(scope, "storeName"), Action(scope, "defaultAccess") ?? AccessAction.Allow,
                    Strings(scope, "allowedSecrets"), Strings(scope, "deniedSecrets"));
            })];
        }

        private AccessAction? Action(YamlMappingNode node, string key) => OptionalString(node, key)?.ToLowerInvariant() switch
        {
            null => null,
            "allow" => AccessAction.Allow,
            "deny" => AccessAction.Deny,
            var other => throw Error(node, $"'{key}' is '{other}' (expected allow or deny)"),
        };

        private ComponentDefinition ReadComponent(string name, IReadOnlyList<string> scopes)
        {
            var spec = RequiredMapping(root, "spec");
            var typeNode = Child(spec, "type") ?? throw Error(spec, $"component '{name}' has no spec.type");
            var type = Scalar(typeNode);
            if (!SupportedComponentTypes.Contains(type, StringComparer.Ordinal))
            {
                throw Error(typeNode,
                    $"component '{name}' has type '{type}', which the embedded runtime does not support; supported types: {string.Join(", ", SupportedComponentTypes)}");
            }

            var metadata = new List<ComponentMetadataItem>();
            foreach (var item in Sequence(spec, "metadata"))
            {
                var entry = item as YamlMappingNode ?? throw Error(item, $"component '{name}': each metadata item is a mapping with name and value");
                var itemName = RequiredString(entry, "name");
                SecretKeyRef? secret = null;
                if (Mapping(entry, "secretKeyRef") is { } reference)
                {
                    secret = new SecretKeyRef(RequiredString(reference, "name"), OptionalString(reference, "key"));
                }

                metadata.Add(new ComponentMetadataItem(itemName, OptionalString(entry, "value"), secret));
            }

            var component = new ComponentDefinition(name, type, OptionalString(spec, "version") ?? "v1", metadata, scopes, file)
            {
                AuthSecretStore = Mapping(root, "auth") is { } auth ? OptionalString(auth, "secretStore") : null,
            };
            CheckBinding(component, typeNode);
            return component;
        }

        /// <summary>What daprd's binding Init refuses, so that the runtime refuses to start as daprd does.</summary>
        private void CheckBinding(ComponentDefinition component, YamlNode typeNode)
        {
            if (BindingComponents.InputTypes.Contains(component.Type, StringComparer.Ordinal) && component.IsOfDirection("input"))
            {
                try
                {
                    CronSchedule.Parse(component.MetadataValue("schedule") ?? "");
                }
                catch (FormatException ex)
                {
                    throw Error(typeNode, $"component '{component.Name}': invalid schedule format '{component.MetadataValue("schedule")}': {ex.Message}");
                }
            }

            if (BindingComponents.OutputTypes.Contains(component.Type, StringComparer.Ordinal)
                && !component.Metadata.Any(m => m.Name.Equals("connectionString", StringComparison.OrdinalIgnoreCase) || m.Name.Equals("url", StringComparison.OrdinalIgnoreCase)))
            {
                throw Error(typeNode, $"component '{component.Name}' has no connectionString (or url) metadata");
            }
        }

        private ResiliencyDocument ReadResiliency(string name, IReadOnlyList<string> scopes)
        {
            var spec = RequiredMapping(root, "spec");
            var policies = Mapping(spec, "policies");
            var retries = new Dictionary<string, RetryPolicy>(StringComparer.Ordinal);
            foreach (var (key, node) in Entries(policies is null ? null : Mapping(policies, "retries")))
            {
                retries[key] = ReadRetry(key, node as YamlMappingNode ?? throw Error(node, $"retry policy '{key}' must be a mapping"));
            }

            var timeouts = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
            foreach (var (key, node) in Entries(policies is null ? null : Mapping(policies, "timeouts")))
            {
                timeouts[key] = Duration(node);
            }

            var breakers = new HashSet<string>(Entries(policies is null ? null : Mapping(policies, "circuitBreakers")).Select(e => e.Key), StringComparer.Ordinal);

            var targets = Mapping(spec, "targets");
            var components = new Dictionary<(string Component, string Direction), ResiliencyTarget>();
            foreach (var (component, node) in Entries(targets is null ? null : Mapping(targets, "components")))
            {
                foreach (var direction in new[] { "inbound", "outbound" })
                {
                    if (node is YamlMappingNode mapping && Mapping(mapping, direction) is { } target)
                    {
                        components[(component, direction)] = ReadTarget(target, retries, timeouts, breakers);
                    }
                }
            }

            var apps = new Dictionary<string, ResiliencyTarget>(StringComparer.Ordinal);
            foreach (var (app, node) in Entries(targets is null ? null : Mapping(targets, "apps")))
            {
                apps[app] = ReadTarget(node as YamlMappingNode ?? throw Error(node, $"target app '{app}' must be a mapping"), retries, timeouts, breakers);
            }

            return new ResiliencyDocument(name, scopes, components, apps, file);
        }

        private RetryPolicy ReadRetry(string name, YamlMappingNode node)
        {
            var kind = OptionalString(node, "policy") switch
            {
                null or "constant" => RetryKind.Constant,
                "exponential" => RetryKind.Exponential,
                var other => throw Error(node, $"retry policy '{name}' has policy '{other}' (expected constant or exponential)"),
            };

            // An exponential policy starts at initialInterval and grows by multiplier (dapr/kit's retry
            // settings; defaults 500 ms and 1.5); duration is accepted for its start too.
            var intervalNode = Child(node, "initialInterval") ?? Child(node, "duration");
            var interval = intervalNode is null ? (kind == RetryKind.Constant ? TimeSpan.FromSeconds(5) : TimeSpan.FromMilliseconds(500)) : Duration(intervalNode);
            var maxInterval = Child(node, "maxInterval") is { } max ? Duration(max) : TimeSpan.FromSeconds(60);
            var maxRetries = -1;
            if (Child(node, "maxRetries") is { } retriesNode && !int.TryParse(Scalar(retriesNode), CultureInfo.InvariantCulture, out maxRetries))
            {
                throw Error(retriesNode, $"retry policy '{name}': maxRetries must be an integer");
            }

            var multiplier = RetryPolicy.DefaultMultiplier;
            if (Child(node, "multiplier") is { } multiplierNode
                && (!double.TryParse(Scalar(multiplierNode), NumberStyles.Float, CultureInfo.InvariantCulture, out multiplier) || multiplier < 1))
            {
                throw Error(multiplierNode, $"retry policy '{name}': multiplier must be a number of at least 1");
            }

            return new RetryPolicy(name, kind, interval, maxInterval, maxRetries, multiplier);
        }

        private ResiliencyTarget ReadTarget(YamlMappingNode node, Dictionary<string, RetryPolicy> retries, Dictionary<string, TimeSpan> timeouts, HashSet<string> breakers)
        {
            RetryPolicy? retry = null;
            if (Child(node, "retry") is { } retryNode)
            {
                var name = Scalar(retryNode);
                retry = retries.GetValueOrDefault(name) ?? throw Error(retryNode, $"retry policy '{name}' is not defined under policies.retries");
            }

            TimeSpan? timeout = null;
            if (Child(node, "timeout") is { } timeoutNode)
            {
                var name = Scalar(timeoutNode);
                timeout = timeouts.TryGetValue(name, out var named) ? named : TryDuration(name) ?? throw Error(timeoutNode, $"timeout '{name}' is not defined under policies.timeouts");
            }

            string? breaker = null;
            if (Child(node, "circuitBreaker") is { } breakerNode)
            {
                breaker = Scalar(breakerNode);
                if (!breakers.Contains(breaker))
                {
                    throw Error(breakerNode, $"circuit breaker '{breaker}' is not defined under policies.circuitBreakers");
                }
            }

            return new ResiliencyTarget(retry, timeout, breaker);
        }

        private SubscriptionDefinition ReadSubscription(string name, IReadOnlyList<string> scopes)
        {
            var spec = RequiredMapping(root, "spec");
            var pubsub = RequiredString(spec, "pubsubname");
            var topic = RequiredString(spec, "topic");
            var rules = new List<SubscriptionRule>();
            string? defaultRoute = OptionalString(spec, "route");
            if (Mapping(spec, "routes") is { } routes)
            {
                defaultRoute = OptionalString(routes, "default") ?? defaultRoute;
                foreach (var item in Sequence(routes, "rules"))
                {
                    var rule = item as YamlMappingNode ?? throw Error(item, $"subscription '{name}': each rule is a mapping with match and path");
                    var match = RequiredString(rule, "match");
                    try
                    {
                        EventMatch.Parse(match);
                    }
                    catch (FormatException ex)
                    {
                        throw Error(rule, $"subscription '{name}': {ex.Message}");
                    }

                    rules.Add(new SubscriptionRule(match, RequiredString(rule, "path")));
                }
            }

            if (defaultRoute is null && rules.Count == 0)
            {
                throw Error(spec, $"subscription '{name}' has no route (spec.routes.default, spec.routes.rules or spec.route)");
            }

            var metadata = Mapping(spec, "metadata");
            var bulk = Mapping(spec, "bulkSubscribe");
            return new SubscriptionDefinition(pubsub, topic, defaultRoute, rules, OptionalString(spec, "deadLetterTopic"), scopes,
                SubscriptionSource.Declarative, $"{file} ({name})")
            {
                RawPayload = metadata is not null && string.Equals(OptionalString(metadata, "rawPayload"), "true", StringComparison.OrdinalIgnoreCase),
                BulkSubscribe = bulk is not null && string.Equals(OptionalString(bulk, "enabled"), "true", StringComparison.OrdinalIgnoreCase)
                    ? new BulkSubscribeOptions(PositiveInt(bulk, "maxMessagesCount") ?? 100, PositiveInt(bulk, "maxAwaitDurationMs") ?? 1000)
                    : null,
            };
        }

        private int? PositiveInt(YamlMappingNode node, string key) => OptionalString(node, key) switch
        {
            null => null,
            var text when int.TryParse(text, CultureInfo.InvariantCulture, out var value) && value > 0 => value,
            var text => throw Error(node, $"'{key}' is '{text}' (expected a positive whole number)"),
        };

        private ComponentLoadException Error(YamlNode node, string message) => new($"{file}:{node.Start.Line}: {message}");

        private static YamlNode? Child(YamlMappingNode node, string key) =>
            node.Children.TryGetValue(new YamlScalarNode(key), out var child) ? child : null;

        private YamlMappingNode? Mapping(YamlMappingNode node, string key) => Child(node, key) switch
        {
            null => null,
            YamlScalarNode { Value: null or "" } => null,
            YamlMappingNode mapping => mapping,
            var other => throw Error(other, $"'{key}' must be a mapping"),
        };

        private YamlMappingNode RequiredMapping(YamlMappingNode node, string key) =>
            Mapping(node, key) ?? throw Error(node, $"missing '{key}'");

        private IEnumerable<YamlNode> Sequence(YamlMappingNode node, string key) => Child(node, key) switch
        {
            null or YamlScalarNode { Value: null or "" } => [],
            YamlSequenceNode sequence => sequence.Children,
            var other => throw Error(other, $"'{key}' must be a list"),
        };

        private IEnumerable<(string Key, YamlNode Value)> Entries(YamlMappingNode? node) =>
            node?.Children.Select(c => (Scalar(c.Key), c.Value)) ?? [];

        private string Scalar(YamlNode node) =>
            node is YamlScalarNode { Value: { } value } ? value : throw Error(node, "expected a single value");

        private string RequiredString(YamlMappingNode node, string key) =>
            OptionalString(node, key) is { Length: > 0 } value ? value : throw Error(node, $"missing '{key}'");

        private string? OptionalString(YamlMappingNode node, string key) => Child(node, key) is { } child ? Scalar(child) : null;

        private List<string> Strings(YamlMappingNode node, string key) => [.. Sequence(node, key).Select(Scalar)];

        private TimeSpan Duration(YamlNode node) =>
            TryDuration(Scalar(node)) ?? throw Error(node, $"'{Scalar(node)}' is not a duration (e.g. 500ms, 5s, 1m30s)");

        private static TimeSpan? TryDuration(string text)
        {
            try
            {
                return ParseDuration(text);
            }
            catch (FormatException)
            {
                return null;
            }
        }
    }
}
