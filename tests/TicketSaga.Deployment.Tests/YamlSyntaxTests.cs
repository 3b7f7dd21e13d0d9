using System.Text.RegularExpressions;

namespace TicketSaga.Deployment.Tests;

public sealed partial class YamlSyntaxTests
{
    public static TheoryData<string> YamlFiles { get; } = [.. Repository.YamlFiles().Select(Repository.Relative)];

    public static TheoryData<string> HelmTemplates { get; } = [.. Repository.HelmTemplates().Select(Path.GetFileName).OfType<string>()];

    [Theory]
    [MemberData(nameof(YamlFiles))]
    public void Every_yaml_file_parses(string file)
    {
        var documents = Yaml.LoadAll(Repository.PathOf(file));

        Assert.NotEmpty(documents);
    }

    [Fact]
    public void The_yaml_files_checked_include_every_environment_and_the_chart_values()
    {
        var files = YamlFiles.Select(row => row.Data).ToList();

        Assert.Contains("dapr.yaml", files);
        Assert.Contains("deploy/compose.yaml", files);
        Assert.Contains("components/local/pubsub.yaml", files);
        Assert.Contains("components/embedded/pubsub.yaml", files);
        Assert.Contains("deploy/helm/ticketsaga/values-prod.yaml", files);
        Assert.DoesNotContain(files, f => f.Contains("/templates/", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(HelmTemplates))]
    public void Helm_template_actions_are_closed_and_nested(string template)
    {
        var text = Chart.Template(template);
        var depth = 0;

        foreach (Match action in Action().Matches(text))
        {
            var keyword = action.Groups["keyword"].Value;
            depth += keyword is "if" or "range" or "with" or "define" ? 1 : keyword == "end" ? -1 : 0;
            Assert.True(depth >= 0, $"{template}: '{action.Value}' closes a block that was never opened.");
        }

        Assert.Equal(0, depth);
        Assert.Equal(Regex.Count(text, @"\{\{"), Regex.Count(text, @"\}\}"));
    }

    [Theory]
    [MemberData(nameof(HelmTemplates))]
    public void Helm_templates_include_only_defined_helpers(string template)
    {
        var defined = Define().Matches(Chart.Template("_helpers.tpl")).Select(m => m.Groups["name"].Value).ToHashSet();

        var included = Include().Matches(Chart.Template(template)).Select(m => m.Groups["name"].Value);

        Assert.All(included, name => Assert.Contains(name, defined));
    }

    [GeneratedRegex(@"\{\{-?\s*(?:/\*.*?\*/\s*-?\}\}|(?<keyword>if|range|with|define|end|else)\b[^}]*\}\})", RegexOptions.Singleline)]
    private static partial Regex Action();

    [GeneratedRegex(@"\{\{-?\s*define\s+""(?<name>[^""]+)""")]
    private static partial Regex Define();

    [GeneratedRegex(@"include\s+""(?<name>[^""]+)""")]
    private static partial Regex Include();
}
