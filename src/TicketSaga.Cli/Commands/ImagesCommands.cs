using System.CommandLine;
using System.Diagnostics;
using System.Text.RegularExpressions;
using TicketSaga.Runtime.Runner;
using YamlDotNet.RepresentationModel;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// `ticketsaga images build [--registry R] [--tag T] [--archive DIR]`: the container image of every app
/// of dapr.yaml, made by the .NET SDK (`dotnet publish -t:PublishContainer`, no Docker engine) from the
/// container settings of its project and Directory.Build.props. Pushed to R; written as tarballs with
/// --archive or without a registry.
/// </summary>
internal static class ImagesCommands
{
    public static Command Create()
    {
        var registry = new Option<string?>("--registry")
        {
            Description = "Push to this registry and namespace, e.g. ghcr.io/ticketsaga or localhost:5000 (the chart's image.registry). Without it: tarballs, named after the chart's default image.registry.",
        };
        var tag = new Option<string?>("--tag") { Description = "The image tag; default: the chart's appVersion (deploy/helm/ticketsaga/Chart.yaml), which is also the apps' version." };
        var archive = new Option<string?>("--archive") { Description = "Write each image as <DIR>/<app id>-<tag>.tar.gz instead of pushing; default without --registry: .ticketsaga/images beside dapr.yaml." };
        var build = new Command("build", "Build the container image of every app of dapr.yaml with the .NET SDK (no Docker needed) and push it, or write it as a tarball.") { registry, tag, archive };
        build.SetAction((parse, cancellationToken) => BuildAsync(parse.GetValue(registry), parse.GetValue(tag), parse.GetValue(archive), cancellationToken));
        return new Command("images", "Container images of the six apps, as the Helm chart and the compose file deploy them.") { build };
    }

    private static async Task<int> BuildAsync(string? registry, string? tag, string? archive, CancellationToken cancellationToken)
    {
        if (ImageTarget.Validate(registry, tag, archive) is { } problem)
        {
            Console.Error.WriteLine(problem);
            return 2;
        }

        var runFile = UpCommand.FindRepositoryRunFile(Directory.GetCurrentDirectory());
        if (runFile is null)
        {
            Console.Error.WriteLine("No dapr.yaml in this folder or above it: run `ticketsaga images build` inside the TicketSaga repository.");
            return 2;
        }

        var root = Path.GetDirectoryName(runFile)!;
        var chart = Path.Combine(root, "deploy", "helm", "ticketsaga");
        var target = new ImageTarget(
            registry ?? ChartValue(Path.Combine(chart, "values.yaml"), "image", "registry"),
            tag ?? ChartValue(Path.Combine(chart, "Chart.yaml"), "appVersion"),
            archive is not null ? Path.GetFullPath(archive) : registry is null ? Path.Combine(root, ".ticketsaga", "images") : null);

        if (target.ArchiveFolder is { } folder)
        {
            Directory.CreateDirectory(folder);
        }

        foreach (var app in RunFile.Load(runFile).Apps)
        {
            Console.WriteLine($"{app.AppId}: dotnet publish -t:PublishContainer …");
            var (exitCode, output) = await PublishAsync(target.PublishArguments(app.AppId, app.AppDirPath), cancellationToken);
            if (exitCode != 0)
            {
                Console.Error.WriteLine($"{app.AppId}: the image was not built (dotnet publish exited with {exitCode}):");
                var errors = output.Where(line => line.Contains(": error ", StringComparison.Ordinal)).Distinct().ToList();
                foreach (var line in errors.Count > 0 ? errors : output.TakeLast(5))
                {
                    Console.Error.WriteLine("  " + line.Trim());
                }

                return 1;
            }

            Console.WriteLine(target.ArchiveFolder is null
                ? $"{app.AppId}: pushed {target.ImageName(app.AppId)}"
                : $"{app.AppId}: {target.ImageName(app.AppId)} written to {target.ArchivePath(app.AppId)}");
        }

        Console.WriteLine(target.ArchiveFolder is null
            ? $"Deploy with: helm upgrade --install ticketsaga deploy/helm/ticketsaga --set image.registry={target.Registry} --set image.tag={target.Tag} …"
            : $"Load the tarballs where Docker runs (docker load -i <file>), or push them with a registry client (skopeo, crane).");
        return 0;
    }

    private static async Task<(int ExitCode, IReadOnlyList<string> Output)> PublishAsync(IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo("dotnet", arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var publish = Process.Start(info)!;
        var output = publish.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = publish.StandardError.ReadToEndAsync(cancellationToken);
        await publish.WaitForExitAsync(cancellationToken);
        return (publish.ExitCode, (await output + await error).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    private static string ChartValue(string file, params string[] path)
    {
        var stream = new YamlStream();
        using (var reader = File.OpenText(file))
        {
            stream.Load(reader);
        }

        YamlNode node = stream.Documents[0].RootNode;
        foreach (var key in path)
        {
            node = ((YamlMappingNode)node)[key];
        }

        return ((YamlScalarNode)node).Value ?? throw new InvalidOperationException($"{file}: {string.Join('.', path)} is empty.");
    }
}

/// <summary>
/// Where the images go: <see cref="Registry"/> is the chart's image.registry form (a host, then an
/// optional namespace), so every image is <c>&lt;Registry&gt;/&lt;app id&gt;:&lt;Tag&gt;</c>, as the chart deploys it.
/// </summary>
internal sealed partial record ImageTarget(string Registry, string Tag, string? ArchiveFolder)
{
    /// <summary>What is wrong with the options, in one line; null when they can be used.</summary>
    public static string? Validate(string? registry, string? tag, string? archive)
    {
        if (registry is not null && registry.Contains("://", StringComparison.Ordinal))
        {
            return $"--registry '{registry}' must not have a scheme: give the host and namespace as the chart's image.registry does, e.g. ghcr.io/ticketsaga or localhost:5000.";
        }

        if (registry is not null && !RegistryPattern().IsMatch(registry))
        {
            return $"--registry '{registry}' is not a registry: a host (with an optional :port), then an optional lower-case namespace, e.g. ghcr.io/ticketsaga or localhost:5000; no tag.";
        }

        if (tag is not null && !TagPattern().IsMatch(tag))
        {
            return $"--tag '{tag}' is not an image tag: at most 128 letters, digits, '_', '.' and '-', not starting with '.' or '-', e.g. 0.1.0.";
        }

        if (archive is not null && (archive.Trim().Length == 0 || File.Exists(archive)))
        {
            return $"--archive '{archive}' must name a folder for the tarballs.";
        }

        return null;
    }

    public string ImageName(string appId) => $"{Registry}/{appId}:{Tag}";

    public string? ArchivePath(string appId) => ArchiveFolder is null ? null : Path.Combine(ArchiveFolder, $"{appId}-{Tag}.tar.gz");

    /// <summary>The `dotnet publish` of one app's image: the SDK takes the registry host and the repository (namespace/app id) apart.</summary>
    public IReadOnlyList<string> PublishArguments(string appId, string projectFolder)
    {
        var slash = Registry.IndexOf('/', StringComparison.Ordinal);
        var host = slash < 0 ? Registry : Registry[..slash];
        var repository = slash < 0 ? appId : $"{Registry[(slash + 1)..]}/{appId}";
        List<string> arguments =
        [
            "publish", projectFolder, "-c", "Release", "-t:PublishContainer", "-nologo", "-v", "q",
            $"-p:ContainerRegistry={host}", $"-p:ContainerRepository={repository}", $"-p:ContainerImageTag={Tag}",
        ];
        if (ArchivePath(appId) is { } path)
        {
            arguments.Add($"-p:ContainerArchiveOutputPath={path}");
        }

        return arguments;
    }

    // The host and path grammar of an OCI image reference (distribution/reference), without tag or digest.
    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RegistryPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();
}
