using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

/// <summary>
/// The image each app's project publishes (`dotnet publish -t:PublishContainer`, `ticketsaga images
/// build`) is the one the chart deploys: repository, ports, user, version and stop time agree with
/// values.yaml and Chart.yaml. The container settings are read as the SDK computes them.
/// </summary>
public sealed partial class ContainerImageTests
{
    public static TheoryData<string> Apps { get; } = [.. AppIds.All];

    [Fact]
    public void Every_app_of_dapr_yaml_and_of_the_chart_is_an_app_of_the_contracts()
    {
        var runFileApps = Yaml.Load(Repository.PathOf("dapr.yaml")).Maps("apps").Select(a => a.Text("appID")!);

        Assert.Equal(AppIds.All.Order(StringComparer.Ordinal), runFileApps.Order(StringComparer.Ordinal));
        Assert.Equal(AppIds.All.Order(StringComparer.Ordinal), Chart.Values().MapAt("apps").Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void The_image_is_the_one_the_chart_deploys_named_after_the_app_id(string appId)
    {
        var image = ContainerSettings.Of(appId);

        Assert.Equal("true", image.Property("EnableSdkContainerSupport"));
        Assert.Equal(appId, image.Property("ContainerRepository"));
        Assert.Contains("image: \"{{ $.Values.image.registry }}/{{ $id }}:{{ $.Values.image.tag | default $.Chart.AppVersion }}\"", Chart.Template("deployments.yaml"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void The_image_listens_on_the_app_port_and_health_port_the_chart_gives_the_pod(string appId)
    {
        var image = ContainerSettings.Of(appId);
        var appPort = Chart.Values().Text($"apps.{appId}.port")!;
        var healthPort = Chart.Values().Text("health.port")!;

        Assert.Equal([appPort, healthPort], image.Items("ContainerPort").Select(p => p.Identity).Order(StringComparer.Ordinal));
        Assert.All(image.Items("ContainerPort"), port => Assert.Equal("tcp", port.Metadata("Type")));
        Assert.Equal(appPort, image.Environment("APP_PORT"));
        Assert.Equal(healthPort, image.Environment("HEALTH_PORT"));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void The_image_runs_as_the_non_root_user_the_chart_requires_on_a_small_aspnet_base(string appId)
    {
        var image = ContainerSettings.Of(appId);
        var pod = Chart.Values().MapAt("podSecurityContext");

        Assert.Equal("true", pod.Text("runAsNonRoot"));
        Assert.Equal(pod.Text("runAsUser"), image.Property("ContainerUser"));
        Assert.NotEqual("0", image.Property("ContainerUser"));
        Assert.Matches(@"^mcr\.microsoft\.com/dotnet/aspnet:\d+\.\d+-[a-z]+-chiseled$", image.Property("ContainerBaseImage"));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void The_image_tag_and_version_label_are_the_charts_app_version(string appId)
    {
        var image = ContainerSettings.Of(appId);
        var appVersion = Yaml.Load(Repository.ChartPath("Chart.yaml")).Text("appVersion");

        Assert.Equal(appVersion, image.Property("Version"));
        Assert.Equal(appVersion, image.Property("ContainerImageTag"));
        Assert.Equal(appVersion, image.Label("org.opencontainers.image.version"));
    }

    [Fact]
    public void The_revision_label_is_the_commit_the_image_is_built_from()
    {
        var head = Git("rev-parse", "HEAD");
        Assert.SkipWhen(head is null, "not a git checkout");

        Assert.Equal(head, ContainerSettings.Of(AppIds.OrderService).Label("org.opencontainers.image.revision"));
    }

    [Fact]
    public void The_source_label_is_the_repository_the_image_is_built_from()
    {
        var origin = Git("remote", "get-url", "origin") ?? "";
        // Source Link labels only a hosted remote (https or ssh), not a clone of a local folder.
        Assert.SkipUnless(origin.Contains("://", StringComparison.Ordinal) || origin.Contains('@', StringComparison.Ordinal),
            $"this checkout's origin ('{origin}') is not a hosted repository, so the SDK has no source URL to label the image with");

        Assert.Equal(origin.EndsWith(".git", StringComparison.Ordinal) ? origin[..^4] : origin,
            ContainerSettings.Of(AppIds.OrderService).Label("org.opencontainers.image.source"));
    }

    [Theory]
    [MemberData(nameof(Apps))]
    public void The_app_stops_before_its_sidecar_and_well_within_the_pods_grace_period(string appId)
    {
        var deployments = Chart.Template("deployments.yaml");
        var appStop = int.Parse(ContainerSettings.Of(appId).Environment("DOTNET_SHUTDOWNTIMEOUTSECONDS")!);
        var sidecarStop = int.Parse(SidecarGracefulShutdown().Match(deployments).Groups[1].Value);
        var podGrace = int.Parse(TerminationGracePeriod().Match(deployments).Groups[1].Value);

        Assert.InRange(appStop, 1, sidecarStop - 1);
        Assert.True(sidecarStop < podGrace, $"daprd's graceful shutdown ({sidecarStop} s) must end before the kubelet kills the pod ({podGrace} s)");
    }

    [Fact]
    public void Pods_give_the_app_a_writable_tmp_on_a_read_only_root_filesystem()
    {
        var deployments = Chart.Template("deployments.yaml");

        Assert.Equal("true", Chart.Values().Text("securityContext.readOnlyRootFilesystem"));
        Assert.Contains("mountPath: /tmp", deployments, StringComparison.Ordinal);
        Assert.Contains("emptyDir: {}", deployments, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_the_six_apps_publish_images()
    {
        var cli = ContainerSettings.OfProject(Repository.PathOf("src", "TicketSaga.Cli"));

        Assert.Equal("false", cli.Property("EnableSdkContainerSupport"));
    }

    private static string? Git(params string[] arguments)
    {
        var info = new ProcessStartInfo("git", arguments) { WorkingDirectory = Repository.Root, RedirectStandardOutput = true, RedirectStandardError = true };
        try
        {
            using var git = Process.Start(info)!;
            var output = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return git.ExitCode == 0 ? output : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    [GeneratedRegex(@"dapr\.io/graceful-shutdown-seconds: ""(\d+)""")]
    private static partial Regex SidecarGracefulShutdown();

    [GeneratedRegex(@"terminationGracePeriodSeconds: (\d+)")]
    private static partial Regex TerminationGracePeriod();
}

/// <summary>
/// An app's container settings as the .NET SDK computes them for `-t:PublishContainer`: its
/// ComputeContainerConfig target, evaluated by `dotnet msbuild` (no restore, no network).
/// </summary>
internal sealed class ContainerSettings(JsonElement result)
{
    private static readonly string[] Properties =
        ["EnableSdkContainerSupport", "ContainerRepository", "ContainerUser", "ContainerBaseImage", "ContainerImageTag", "Version"];

    private static readonly ConcurrentDictionary<string, Lazy<ContainerSettings>> Evaluated = new(StringComparer.Ordinal);

    public static ContainerSettings Of(string appId)
    {
        var app = Yaml.Load(Repository.PathOf("dapr.yaml")).Maps("apps").Single(a => a.Text("appID") == appId);
        return OfProject(Repository.PathOf(app.Text("appDirPath")!));
    }

    public static ContainerSettings OfProject(string folder) =>
        Evaluated.GetOrAdd(Path.GetFullPath(folder), path => new Lazy<ContainerSettings>(() => Evaluate(path))).Value;

    public string? Property(string name) => result.GetProperty("Properties").GetProperty(name).GetString();

    public IReadOnlyList<Item> Items(string name) => [.. result.GetProperty("Items").GetProperty(name).EnumerateArray().Select(i => new Item(i))];

    public string? Environment(string name) => Items("ContainerEnvironmentVariables").SingleOrDefault(i => i.Identity == name)?.Metadata("Value");

    public string? Label(string name) => Items("ContainerLabel").SingleOrDefault(i => i.Identity == name)?.Metadata("Value");

    private static ContainerSettings Evaluate(string folder)
    {
        var info = new ProcessStartInfo("dotnet", [
            "msbuild", folder, "-nologo", "-t:InitializeSourceControlInformation;ComputeContainerConfig",
            .. Properties.Select(p => $"-getProperty:{p}"),
            "-getItem:ContainerPort", "-getItem:ContainerLabel", "-getItem:ContainerEnvironmentVariables",
        ])
        {
            WorkingDirectory = Repository.Root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var msbuild = Process.Start(info)!;
        var error = msbuild.StandardError.ReadToEndAsync();
        var output = msbuild.StandardOutput.ReadToEnd();
        msbuild.WaitForExit();
        Assert.True(msbuild.ExitCode == 0, $"dotnet msbuild {folder} failed:\n{output}\n{error.Result}");
        return new ContainerSettings(JsonDocument.Parse(output).RootElement.Clone());
    }

    internal sealed class Item(JsonElement item)
    {
        public string Identity => item.GetProperty(nameof(Identity)).GetString()!;

        public string? Metadata(string name) => item.TryGetProperty(name, out var value) ? value.GetString() : null;
    }
}
