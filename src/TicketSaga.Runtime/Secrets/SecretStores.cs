using System.Collections;
using System.Text.Json;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Secrets;

/// <summary>The secret store is not a secret store component visible to the app.</summary>
public sealed class SecretStoreNotFoundException(string message, bool noneConfigured) : Exception(message)
{
    public bool NoneConfigured { get; } = noneConfigured;
}

/// <summary>The Configuration's <c>secrets.scopes</c> deny this app the secret.</summary>
public sealed class SecretAccessDeniedException(string message) : Exception(message);

/// <summary>The store has no such secret, or could not be read.</summary>
public sealed class SecretUnavailableException(string message) : Exception(message);

/// <summary>
/// The Dapr secrets API of one sidecar over the secret stores the runtime supports, read as Dapr's
/// components read them: <c>secretstores.local.file</c> (a JSON file, <c>secretsFile</c> relative to
/// the runtime's working folder as daprd's is, nested objects flattened with <c>nestedSeparator</c>,
/// or kept one level deep with <c>multiValued: "true"</c>) and <c>secretstores.local.env</c> (the
/// runtime's environment, optionally only names with <c>prefix</c>, which is then removed). The
/// Configuration's <c>secrets.scopes</c> limit what the app may read.
/// </summary>
public sealed class SecretStores(AppDescriptor app, RuntimeResources resources)
{
    /// <summary>One secret: a single key/value (or, multi-valued, several).</summary>
    public IReadOnlyDictionary<string, string> Get(string storeName, string key)
    {
        var store = Resolve(storeName);
        if (!Allowed(store.Name, key))
        {
            throw new SecretAccessDeniedException($"access denied by policy to get \"{key}\" from \"{store.Name}\"");
        }

        return ReadAll(store).GetValueOrDefault(key)
            ?? throw new SecretUnavailableException($"failed getting secret with key {key} from secret store {store.Name}: secret {key} not found");
    }

    /// <summary>Every secret the app may read, by key.</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> GetBulk(string storeName)
    {
        var store = Resolve(storeName);
        return ReadAll(store).Where(s => Allowed(store.Name, s.Key)).ToDictionary(s => s.Key, s => s.Value);
    }

    /// <summary>A component's metadata with every <c>secretKeyRef</c> read from its <c>auth.secretStore</c>, as daprd does before it initialises the component.</summary>
    public static IReadOnlyDictionary<string, string> ResolveMetadata(ComponentDefinition component, RuntimeResources resources)
    {
        var values = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in component.Metadata)
        {
            if (item.SecretKeyRef is not { } reference)
            {
                values[item.Name] = item.Value ?? "";
                continue;
            }

            var storeName = component.AuthSecretStore
                ?? throw new SecretUnavailableException($"component {component.Name} references secret {reference.Name} but names no auth.secretStore");
            var store = resources.Components.FirstOrDefault(c => c.Name == storeName && c.Type.StartsWith("secretstores.", StringComparison.Ordinal))
                ?? throw new SecretUnavailableException($"component {component.Name}: secret store {storeName} is not found");
            var secret = ReadAll(store).GetValueOrDefault(reference.Name)
                ?? throw new SecretUnavailableException($"component {component.Name}: secret {reference.Name} not found in secret store {storeName}");
            values[item.Name] = secret.GetValueOrDefault(reference.Key ?? reference.Name)
                ?? throw new SecretUnavailableException($"component {component.Name}: secret {reference.Name} has no key {reference.Key}");
        }

        return values;
    }

    private ComponentDefinition Resolve(string storeName)
    {
        var stores = resources.ComponentsFor(app.AppId).Where(c => c.Type.StartsWith("secretstores.", StringComparison.Ordinal)).ToList();
        if (stores.Count == 0)
        {
            throw new SecretStoreNotFoundException("secret store is not configured", noneConfigured: true);
        }

        return stores.FirstOrDefault(c => c.Name == storeName)
            ?? throw new SecretStoreNotFoundException($"failed finding secret store with key {storeName}", noneConfigured: false);
    }

    /// <summary>
    /// Dapr's rule: a secret listed in <c>allowedSecrets</c> is allowed, one in <c>deniedSecrets</c> denied;
    /// with a non-empty <c>allowedSecrets</c> nothing else is; otherwise <c>defaultAccess</c> (allow).
    /// </summary>
    private bool Allowed(string storeName, string key)
    {
        if (resources.SecretScopes.FirstOrDefault(s => s.StoreName == storeName) is not { } scope)
        {
            return true;
        }

        if (scope.AllowedSecrets.Contains(key, StringComparer.Ordinal))
        {
            return true;
        }

        if (scope.DeniedSecrets.Contains(key, StringComparer.Ordinal) || scope.AllowedSecrets.Count > 0)
        {
            return false;
        }

        return scope.DefaultAccess == AccessAction.Allow;
    }

    private static Dictionary<string, IReadOnlyDictionary<string, string>> ReadAll(ComponentDefinition store) => store.Type switch
    {
        "secretstores.local.file" => ReadFile(store),
        _ => ReadEnvironment(store),
    };

    private static Dictionary<string, IReadOnlyDictionary<string, string>> ReadEnvironment(ComponentDefinition store)
    {
        var prefix = store.MetadataValue("prefix") ?? "";
        var secrets = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        foreach (DictionaryEntry variable in Environment.GetEnvironmentVariables())
        {
            var name = (string)variable.Key;
            if (name.StartsWith(prefix, StringComparison.Ordinal) && name.Length > prefix.Length)
            {
                var key = name[prefix.Length..];
                secrets[key] = new Dictionary<string, string> { [key] = (string?)variable.Value ?? "" };
            }
        }

        return secrets;
    }

    private static Dictionary<string, IReadOnlyDictionary<string, string>> ReadFile(ComponentDefinition store)
    {
        var path = store.MetadataValue("secretsFile")
            ?? throw new SecretUnavailableException($"secret store {store.Name} has no secretsFile");
        var separator = store.MetadataValue("nestedSeparator") is { Length: > 0 } configured ? configured : ":";
        var multiValued = string.Equals(store.MetadataValue("multiValued"), "true", StringComparison.OrdinalIgnoreCase);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllBytes(Path.GetFullPath(path)));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            throw new SecretUnavailableException($"secret store {store.Name} cannot read {path}: {ex.Message}");
        }

        using (document)
        {
            var secrets = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
            foreach (var property in document.RootElement.EnumerateObject())
            {
                var values = new Dictionary<string, string>(StringComparer.Ordinal);
                if (multiValued && property.Value.ValueKind == JsonValueKind.Object)
                {
                    foreach (var inner in property.Value.EnumerateObject())
                    {
                        Flatten(inner.Name, inner.Value, separator, values);
                    }

                    secrets[property.Name] = values;
                    continue;
                }

                Flatten(property.Name, property.Value, separator, values);
                foreach (var (key, value) in values)
                {
                    secrets[key] = new Dictionary<string, string> { [key] = value };
                }
            }

            return secrets;
        }
    }

    private static void Flatten(string key, JsonElement value, string separator, Dictionary<string, string> into)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            foreach (var inner in value.EnumerateObject())
            {
                Flatten(key + separator + inner.Name, inner.Value, separator, into);
            }

            return;
        }

        into[key] = value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();
    }
}
