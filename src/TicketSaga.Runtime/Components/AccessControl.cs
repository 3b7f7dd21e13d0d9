namespace TicketSaga.Runtime.Components;

public enum AccessAction
{
    Allow,
    Deny,
}

/// <summary>One <c>operations</c> entry of a policy: a callee method (wildcards <c>*</c>, <c>**</c>) and the verbs it covers.</summary>
public sealed record OperationPolicy(string Name, IReadOnlyList<string> HttpVerbs, AccessAction Action);

/// <summary>One <c>policies</c> entry: what the app <paramref name="AppId"/> may call.</summary>
public sealed record AppPolicy(string AppId, string TrustDomain, string Namespace, AccessAction? DefaultAction, IReadOnlyList<OperationPolicy> Operations);

/// <summary>
/// A Configuration's <c>spec.accessControl</c>, decided as daprd decides it on the called side: the
/// caller's policy (app id, trust domain and namespace all matching) else the global default action;
/// within a policy the first operation that matches the method, else the policy's default action.
/// The embedded runtime knows every caller: it is the app of the sidecar the call came through, in
/// Dapr's self-hosted trust domain <c>public</c> and namespace <c>default</c>.
/// </summary>
public sealed record AccessControl(AccessAction DefaultAction, IReadOnlyList<AppPolicy> Policies, string SourceFile)
{
    public const string DefaultTrustDomain = "public";

    public const string DefaultNamespace = "default";

    /// <param name="operation">The called method: the HTTP path after <c>/method</c>, or the gRPC method path.</param>
    /// <param name="httpVerb">The HTTP method for an HTTP app; null for a gRPC app, where verbs do not apply.</param>
    public bool Allows(string callerAppId, string operation, string? httpVerb)
    {
        var policy = Policies.FirstOrDefault(p => p.AppId == callerAppId && p.TrustDomain == DefaultTrustDomain && p.Namespace == DefaultNamespace);
        if (policy is null)
        {
            return DefaultAction == AccessAction.Allow;
        }

        var action = policy.DefaultAction ?? DefaultAction;
        var segments = Normalize(operation);
        if (policy.Operations.FirstOrDefault(o => Matches(Normalize(o.Name), segments)) is { } matched)
        {
            if (httpVerb is null)
            {
                action = matched.Action;
            }
            else if (matched.HttpVerbs.Any(v => v == "*" || string.Equals(v, httpVerb, StringComparison.OrdinalIgnoreCase)))
            {
                action = matched.Action;
            }
        }

        return action == AccessAction.Allow;
    }

    /// <summary>Path segments with dot segments resolved, so that <c>/orders/../admin</c> is judged as <c>/admin</c>.</summary>
    private static List<string> Normalize(string path)
    {
        var segments = new List<string>();
        foreach (var segment in path.Split('/', StringSplitOptions.RemoveEmptyEntries))
        {
            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
            }
            else if (segment != ".")
            {
                segments.Add(segment);
            }
        }

        return segments;
    }

    /// <summary><c>**</c> matches any number of segments, <c>*</c> within a segment any characters of that segment.</summary>
    private static bool Matches(List<string> pattern, List<string> path, int p = 0, int s = 0)
    {
        if (p == pattern.Count)
        {
            return s == path.Count;
        }

        if (pattern[p] == "**")
        {
            for (var rest = s; rest <= path.Count; rest++)
            {
                if (Matches(pattern, path, p + 1, rest))
                {
                    return true;
                }
            }

            return false;
        }

        return s < path.Count && SegmentMatches(pattern[p], path[s]) && Matches(pattern, path, p + 1, s + 1);
    }

    private static bool SegmentMatches(string pattern, string segment)
    {
        if (!pattern.Contains('*', StringComparison.Ordinal))
        {
            return pattern == segment;
        }

        var parts = pattern.Split('*');
        if (!segment.StartsWith(parts[0], StringComparison.Ordinal) || !segment.EndsWith(parts[^1], StringComparison.Ordinal)
            || segment.Length < parts[0].Length + parts[^1].Length)
        {
            return false;
        }

        var position = parts[0].Length;
        foreach (var middle in parts[1..^1])
        {
            var found = segment.IndexOf(middle, position, StringComparison.Ordinal);
            if (found < 0)
            {
                return false;
            }

            position = found + middle.Length;
        }

        return position <= segment.Length - parts[^1].Length;
    }
}
