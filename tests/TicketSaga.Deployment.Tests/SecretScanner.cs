using System.Text.RegularExpressions;

namespace TicketSaga.Deployment.Tests;

/// <summary>
/// Finds secret values written into YAML: a literal under a key that names a credential (or in a
/// Dapr metadata item of that name), Stripe live/test keys, private keys, long base64 strings.
/// References (secretKeyRef, existingSecret names, keys within a Secret) are what belongs there.
/// </summary>
internal static partial class SecretScanner
{
    private static readonly string[] CredentialWords =
        ["password", "passwd", "secret", "apikey", "token", "signingkey", "connectionstring", "privatekey", "clientkey"];

    // Names of a Secret object or of a key inside one: references, not values.
    private static readonly string[] ReferenceSuffixes = ["existingsecret", "secretname"];

    public static IReadOnlyList<string> Scan(object? document, IReadOnlySet<string> placeholders) =>
        [.. Walk(document, "", placeholders)];

    public static IReadOnlyList<string> ScanText(string text) =>
        [.. KnownSecret().Matches(text).Select(m => $"'{m.Value[..Math.Min(12, m.Value.Length)]}...' looks like a real credential")];

    private static IEnumerable<string> Walk(object? node, string path, IReadOnlySet<string> placeholders)
    {
        switch (node)
        {
            case Map map when map.Text("name") is { } name && map.ContainsKey("value") && IsCredential(name):
                // A Dapr metadata item or a Kubernetes env entry: `- name: saslPassword  value: ...`.
                if (Literal(map.Text("value"), placeholders))
                {
                    yield return $"{path}: '{name}' has a literal value; use secretKeyRef";
                }

                break;
            case Map map:
                foreach (var (key, value) in map)
                {
                    if (value is string text && IsCredential(key) && Literal(text, placeholders))
                    {
                        yield return $"{path}.{key}: literal credential";
                    }

                    foreach (var finding in Walk(value, $"{path}.{key}", placeholders))
                    {
                        yield return finding;
                    }
                }

                break;
            case List<object?> list:
                for (var i = 0; i < list.Count; i++)
                {
                    foreach (var finding in Walk(list[i], $"{path}[{i}]", placeholders))
                    {
                        yield return finding;
                    }
                }

                break;
            case string text when LongBase64().IsMatch(text):
                yield return $"{path}: a long base64 string";
                break;
        }
    }

    private static bool IsCredential(string key)
    {
        var normalized = key.ToLowerInvariant().Replace("_", "", StringComparison.Ordinal).Replace("-", "", StringComparison.Ordinal);
        return (CredentialWords.Any(normalized.EndsWith) || normalized.StartsWith("connectionstrings", StringComparison.Ordinal))
            && !ReferenceSuffixes.Any(normalized.EndsWith);
    }

    private static bool Literal(string? value, IReadOnlySet<string> placeholders) =>
        !string.IsNullOrEmpty(value) && !placeholders.Contains(value);

    [GeneratedRegex(@"(sk|rk|pk)_(live|test)_[A-Za-z0-9]+|whsec_[A-Za-z0-9]+|-----BEGIN [A-Z ]*PRIVATE KEY-----")]
    private static partial Regex KnownSecret();

    // 32+ characters of base64 with both letters and digits: a key, not a word.
    [GeneratedRegex(@"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9+/_-]{32,}={0,2}$")]
    private static partial Regex LongBase64();
}
