using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace TicketSaga.Deployment.Tests;

/// <summary>
/// YAML read into plain values (string, ordered map, list) that tests can navigate and compare.
/// Scalars stay strings, as Kubernetes and Dapr read them from a manifest.
/// </summary>
internal static class Yaml
{
    public static IReadOnlyList<object?> LoadAll(string path)
    {
        var stream = new YamlStream();
        using (var reader = new StreamReader(path))
        {
            // Merge keys (`<<: *anchor`) resolved, as compose reads them.
            stream.Load(new MergingParser(new Parser(reader)));
        }

        return [.. stream.Documents.Select(d => ToPlain(d.RootNode)).Where(d => d is not null)];
    }

    public static Map Load(string path) => LoadAll(path) switch
    {
        [Map single] => single,
        var documents => throw new InvalidOperationException($"{path}: expected one mapping document, found {documents.Count} documents."),
    };

    public static Map Parse(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return (Map)ToPlain(stream.Documents[0].RootNode)!;
    }

    private static object? ToPlain(YamlNode node) => node switch
    {
        YamlScalarNode { Value: null or "" or "~" or "null", Style: YamlDotNet.Core.ScalarStyle.Plain } => null,
        YamlScalarNode scalar => scalar.Value ?? "",
        YamlSequenceNode sequence => sequence.Children.Select(ToPlain).ToList(),
        YamlMappingNode mapping => new Map(mapping.Children.Select(c => new KeyValuePair<string, object?>(((YamlScalarNode)c.Key).Value!, ToPlain(c.Value)))),
        _ => throw new NotSupportedException($"YAML node {node.NodeType} at {node.Start}"),
    };

    /// <summary>Deep equality of plain values, map order ignored.</summary>
    public static bool DeepEquals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (string x, string y) => x == y,
        (Map x, Map y) => x.Count == y.Count && x.All(e => y.TryGetValue(e.Key, out var other) && DeepEquals(e.Value, other)),
        (List<object?> x, List<object?> y) => x.Count == y.Count && x.Zip(y).All(p => DeepEquals(p.First, p.Second)),
        _ => false,
    };
}

/// <summary>A YAML mapping; <see cref="At"/> follows a dotted path.</summary>
internal sealed class Map(IEnumerable<KeyValuePair<string, object?>> entries) : Dictionary<string, object?>(entries, StringComparer.Ordinal)
{
    public object? At(string path)
    {
        object? current = this;
        foreach (var key in path.Split('.'))
        {
            current = current is Map map && map.TryGetValue(key, out var next) ? next : null;
        }

        return current;
    }

    public string? Text(string path) => At(path) as string;

    public Map MapAt(string path) => At(path) as Map ?? throw new KeyNotFoundException($"'{path}' is not a mapping.");

    public IReadOnlyList<string> Strings(string path) =>
        At(path) is List<object?> list ? [.. list.Select(i => Convert.ToString(i, CultureInfo.InvariantCulture)!)] : [];

    public IReadOnlyList<Map> Maps(string path) => At(path) is List<object?> list ? [.. list.OfType<Map>()] : [];
}
