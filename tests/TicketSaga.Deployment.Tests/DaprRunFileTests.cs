using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

/// <summary>dapr.yaml: the multi-app run file of `dapr run -f .` and of the embedded runner.</summary>
public sealed class DaprRunFileTests
{
    private static readonly Map RunFile = Yaml.Load(Repository.PathOf("dapr.yaml"));

    private static IReadOnlyList<Map> Apps => RunFile.Maps("apps");

    public static TheoryData<string> AppIdsOfTheContracts { get; } = [.. AppIds.All];

    [Theory]
    [MemberData(nameof(AppIdsOfTheContracts))]
    public void Every_app_of_the_contracts_runs_from_dapr_yaml(string appId)
    {
        Assert.Single(Apps, a => a.Text("appID") == appId);
    }

    [Fact]
    public void Dapr_yaml_runs_only_apps_of_the_contracts()
    {
        Assert.All(Apps, app => Assert.Contains(app.Text("appID"), AppIds.All));
    }

    [Theory]
    [MemberData(nameof(AppIdsOfTheContracts))]
    public void Every_app_is_a_project_under_src(string appId)
    {
        var app = Assert.Single(Apps, a => a.Text("appID") == appId);
        var folder = Repository.PathOf(app.Text("appDirPath")!);

        Assert.StartsWith(Repository.PathOf("src"), Path.GetFullPath(folder), StringComparison.Ordinal);
        Assert.True(Directory.Exists(folder), $"{appId}: appDirPath {app.Text("appDirPath")} does not exist (is the service's branch merged?).");
        Assert.NotEmpty(Directory.EnumerateFiles(folder, "*.csproj"));
    }

    [Fact]
    public void Ticket_and_venue_services_speak_grpc_to_their_sidecars_and_the_others_http()
    {
        var protocols = Apps.ToDictionary(a => a.Text("appID")!, a => a.Text("appProtocol"));

        Assert.All(protocols, p => Assert.Equal(
            p.Key is AppIds.TicketService or AppIds.VenueService ? "grpc" : "http", p.Value));
    }

    [Fact]
    public void Every_app_has_its_own_port_and_runs_the_built_app()
    {
        Assert.Equal(Apps.Count, Apps.Select(a => a.Text("appPort")).Distinct().Count());
        Assert.All(Apps, app => Assert.Equal(["dotnet", "run", "--no-build", "--no-launch-profile"], app.Strings("command")));
    }

    [Fact]
    public void Http_apps_report_readiness_to_daprd()
    {
        Assert.All(Apps.Where(a => a.Text("appProtocol") == "http"), app =>
        {
            Assert.Equal("true", app.Text("enableAppHealthCheck"));
            Assert.Equal("/readyz", app.Text("appHealthCheckPath"));
        });
    }

    [Fact]
    public void The_resources_paths_and_the_dapr_configuration_exist()
    {
        Assert.Equal(["./components", "./components/local"], RunFile.Strings("common.resourcesPaths"));
        Assert.All(RunFile.Strings("common.resourcesPaths"), path => Assert.True(Directory.Exists(Repository.PathOf(path))));
        var configuration = Yaml.Load(Repository.PathOf(RunFile.Text("common.configFilePath")!));
        Assert.Equal("Configuration", configuration.Text("kind"));
    }

    [Fact]
    public void The_embedded_runner_reads_the_same_run_file()
    {
        var runFile = Runtime.Runner.RunFile.Load(Repository.Root);

        Assert.Equal(Apps.Select(a => a.Text("appID")), runFile.Apps.Select(a => a.AppId));
    }
}
