using System.Text.Json;

namespace TicketSaga.Runtime.Components;

/// <summary>
/// The subset of CEL that routing rules use here: comparisons of a CloudEvent field with a string
/// literal (<c>event.type == "order.created"</c>, <c>event.data.kind != 'vip'</c>) joined by
/// <c>&amp;&amp;</c> or <c>||</c> (<c>&amp;&amp;</c> binds tighter). Anything else is rejected at load time.
/// </summary>
public sealed class EventMatch
{
    private readonly List<List<(string[] Path, bool Equal, string Literal)>> _alternatives;

    private EventMatch(List<List<(string[] Path, bool Equal, string Literal)>> alternatives) => _alternatives = alternatives;

    public static EventMatch Parse(string expression)
    {
        var alternatives = new List<List<(string[], bool, string)>>();
        foreach (var alternative in expression.Split("||"))
        {
            var terms = new List<(string[], bool, string)>();
            foreach (var term in alternative.Split("&&"))
            {
                var equal = term.Contains("==", StringComparison.Ordinal);
                var parts = term.Split(equal ? "==" : "!=", 2);
                if (parts.Length != 2)
                {
                    throw new UnsupportedMatchException(expression);
                }

                var field = parts[0].Trim();
                var literal = parts[1].Trim();
                if (!field.StartsWith("event.", StringComparison.Ordinal) || literal.Length < 2 || literal[0] != literal[^1] || literal[0] is not ('"' or '\''))
                {
                    throw new UnsupportedMatchException(expression);
                }

                terms.Add((field["event.".Length..].Split('.'), equal, literal[1..^1]));
            }

            alternatives.Add(terms);
        }

        return new EventMatch(alternatives);
    }

    public bool Matches(JsonElement cloudEvent) =>
        _alternatives.Any(terms => terms.All(t => (Lookup(cloudEvent, t.Path) == t.Literal) == t.Equal));

    private static string? Lookup(JsonElement element, string[] path)
    {
        foreach (var segment in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(segment, out element))
            {
                return null;
            }
        }

        return element.ValueKind == JsonValueKind.String ? element.GetString() : element.GetRawText();
    }
}

/// <summary>A routing rule beyond the supported subset of CEL.</summary>
public sealed class UnsupportedMatchException(string expression)
    : FormatException($"unsupported match expression '{expression}' (supported: event.<field> == \"value\", !=, &&, ||)");
