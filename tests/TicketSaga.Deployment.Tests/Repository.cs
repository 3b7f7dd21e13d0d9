namespace TicketSaga.Deployment.Tests;

/// <summary>Paths into the repository these tests check (found from the test output folder upwards).</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public static string ChartPath(params string[] parts) => Path.Combine([Root, "deploy", "helm", "ticketsaga", .. parts]);

    /// <summary>Plain YAML files (not Helm templates, which only Helm can render).</summary>
    public static IEnumerable<string> YamlFiles() =>
        new[] { PathOf("dapr.yaml") }
            .Concat(Files(PathOf("components")))
            .Concat(Files(PathOf("deploy")).Where(f => !IsHelmTemplate(f)));

    public static IEnumerable<string> HelmTemplates() =>
        Directory.EnumerateFiles(ChartPath("templates")).Order(StringComparer.Ordinal);

    public static string Relative(string path) => System.IO.Path.GetRelativePath(Root, path).Replace('\\', '/');

    private static IEnumerable<string> Files(string folder) =>
        Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories)
            .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".yml", StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);

    private static bool IsHelmTemplate(string path) =>
        Relative(path).Contains("/templates/", StringComparison.Ordinal);

    private static string FindRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(System.IO.Path.Combine(folder.FullName, "TicketSaga.sln")))
        {
            folder = folder.Parent ?? throw new InvalidOperationException("TicketSaga.sln not found above the test output folder.");
        }

        return folder.FullName;
    }
}
