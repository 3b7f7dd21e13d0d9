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
/// --archive or without a registry (a tarball names its image without the registry host, as `docker load` shows it).
/// </summary>
internal static partial class ImagesCommands
{
    public static Command Create()
    {
        var registry = new Option<string?>("--registry")
        {
            Description = "Push to this registry and namespace, e.g. ghcr.io/ticketsaga or localhost:5000 (the chart's image.registry). Without it: tarballs of <app id>:<tag>.",
        };
        var tag = new Option<string?>("--tag") { Description = "The image tag; default: the chart's appVersion (deploy/helm/ticketsaga/Chart.yaml), which is also the apps' version." };
        var archive = new Option<string?>("--archive") { Description = "Write each image as <DIR>/<app id>-<tag>.tar (for docker load) instead of pushing; default without --registry: .ticketsaga/images beside dapr.yaml." };
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
        var target = new ImageTarget(
            registry,
            tag ?? AppVersion(Path.Combine(root, "deploy", "helm", "ticketsaga", "Chart.yaml")),
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
                var errors = output.Select(ErrorMessage).OfType<string>().Distinct().ToList();
                foreach (var line in errors.Count > 0 ? errors : output.TakeLast(5))
                {
                    Console.Error.WriteLine("  " + line);
                }

                return 1;
            }

            Console.WriteLine(target.ArchiveFolder is null
                ? $"{app.AppId}: pushed {target.ImageName(app.AppId)}"
                : $"{app.AppId}: {target.ImageName(app.AppId)} written to {target.ArchivePath(app.AppId)}");
        }

        Console.WriteLine(target.ArchiveFolder is null
            ? $"Deploy with: helm upgrade --install ticketsaga deploy/helm/ticketsaga --set image.registry={target.Registry} --set image.tag={target.Tag} …"
            : "Load them where Docker runs (docker load -i <file>), or push them with a registry client (crane, skopeo).");
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

    /// <summary>
    /// The message of an MSBuild error line (<c>file(l,c): error CODE: message [project]</c>); null for
    /// other lines and for the stack frames a failed task adds, one per line.
    /// </summary>
    private static string? ErrorMessage(string line) =>
        MSBuildError().Match(line) is { Success: true } error
        && error.Groups["message"].Value.TrimStart() is var message
        && !message.StartsWith("at ", StringComparison.Ordinal) && !message.StartsWith("---", StringComparison.Ordinal)
            ? $"{error.Groups["code"].Value}: {message}"
            : null;

    [GeneratedRegex(@": error (?<code>[A-Z]+[0-9]+): (?<message>.*?)(?: \[[^\]]*\])?$")]
    private static partial Regex MSBuildError();

    /// <summary>The chart's appVersion: the version of the apps, and so the default tag.</summary>
    private static string AppVersion(string chartFile)
    {
        var stream = new YamlStream();
        using (var reader = File.OpenText(chartFile))
        {
            stream.Load(reader);
        }

        return ((YamlScalarNode)((YamlMappingNode)stream.Documents[0].RootNode)["appVersion"]).Value
            ?? throw new InvalidOperationException($"{chartFile} has no appVersion.");
    }
}

/// <summary>
/// Where the images go. <see cref="Registry"/> has the form of the chart's image.registry (a host, then
/// an optional namespace), so a pushed image is <c>&lt;Registry&gt;/&lt;app id&gt;:&lt;Tag&gt;</c>, as the chart deploys it.
/// </summary>
internal sealed partial record ImageTarget(string? Registry, string Tag, string? ArchiveFolder)
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

    /// <summary>The image's name: pushed, with the registry; in a tarball, without its host (what `docker load` shows).</summary>
    public string ImageName(string appId) => ArchiveFolder is null ? $"{Registry}/{appId}:{Tag}" : $"{Repository(appId)}:{Tag}";

    public string? ArchivePath(string appId) => ArchiveFolder is null ? null : Path.Combine(ArchiveFolder, $"{appId}-{Tag}.tar");

    /// <summary>The `dotnet publish` of one app's image: the SDK takes the registry host and the repository (namespace/app id) apart.</summary>
    public IReadOnlyList<string> PublishArguments(string appId, string projectFolder)
    {
        List<string> arguments =
        [
            "publish", projectFolder, "-c", "Release", "-t:PublishContainer", "-nologo", "-v", "q",
            $"-p:ContainerRepository={Repository(appId)}", $"-p:ContainerImageTag={Tag}",
        ];
        if (Registry is not null)
        {
            arguments.Add($"-p:ContainerRegistry={Registry.Split('/')[0]}");
        }

        if (ArchivePath(appId) is { } path)
        {
            arguments.Add($"-p:ContainerArchiveOutputPath={path}");
        }

        return arguments;
    }

    private string Repository(string appId) =>
        Registry?.IndexOf('/', StringComparison.Ordinal) is int slash and >= 0 ? $"{Registry[(slash + 1)..]}/{appId}" : appId;

    // The host and path grammar of an OCI image reference (distribution/reference), without tag or digest.
    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]{1,5})?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")]
    private static partial Regex RegistryPattern();

    [GeneratedRegex(@"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex TagPattern();
}
