using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Runtime.Tests.Runner;

public sealed class RunFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-runfile-").FullName;

    private string Write(string yaml, string name = "dapr.yaml")
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public void Apps_get_common_settings_and_paths_relative_to_the_run_file_and_their_own_resources_relative_to_their_folder()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "components", "local"));
        Directory.CreateDirectory(Path.Combine(_folder, "src", "Tickets"));
        Directory.CreateDirectory(Path.Combine(_folder, "other", "resources"));
        var path = Write("""
            version: 1
            common:
              resourcesPaths: [./components, ./components/local]
              logLevel: debug
              env:
                SHARED: common
                OVERRIDDEN: common
            apps:
              - appID: ticket-service
                appDirPath: ./src/Tickets
                appPort: 5101
                appProtocol: grpc
                command: ["dotnet", "run", "--no-build"]
                env:
                  OVERRIDDEN: app
              - appID: web
                appDirPath: other
                appPort: 8080
                appHealthCheckPath: /healthz
                daprHTTPPort: 3500
                daprGRPCPort: 50001
                resourcesPath: ./resources
                appLogDestination: console
            """);

        var runFile = RunFile.Load(path);

        Assert.Equal(_folder, runFile.Directory);
        var tickets = runFile.Apps[0];
        Assert.Equal("ticket-service", tickets.AppId);
        Assert.Equal(Path.Combine(_folder, "src", "Tickets"), tickets.AppDirPath);
        Assert.Equal(5101, tickets.AppPort);
        Assert.Equal(AppChannelProtocol.Grpc, tickets.Protocol);
        Assert.Equal(["dotnet", "run", "--no-build"], tickets.Command);
        Assert.Equal([Path.Combine(_folder, "components"), Path.Combine(_folder, "components", "local")], tickets.ResourcesPaths);
        Assert.Equal("common", tickets.Env["SHARED"]);
        Assert.Equal("app", tickets.Env["OVERRIDDEN"]);
        Assert.Equal(LogDestination.FileAndConsole, tickets.AppLogDestination);
        Assert.Null(tickets.DaprHttpPort);

        var web = runFile.Apps[1];
        Assert.Equal(AppChannelProtocol.Http, web.Protocol);
        Assert.Equal("/healthz", web.AppHealthCheckPath);
        Assert.Equal((3500, 50001), (web.DaprHttpPort, web.DaprGrpcPort));
        // An app's own resources path is relative to its appDirPath, as the Dapr CLI reads it.
        Assert.Equal([Path.Combine(_folder, "other", "resources")], web.ResourcesPaths);
        Assert.Equal(LogDestination.Console, web.AppLogDestination);
    }

    [Fact]
    public void A_folder_means_its_dapr_yaml_and_an_apps_dapr_resources_folder_is_used_like_the_dapr_cli()
    {
        Directory.CreateDirectory(Path.Combine(_folder, "app", ".dapr", "resources"));
        Write("""
            version: 1
            apps:
              - appID: solo
                appDirPath: ./app
            """);

        var app = RunFile.Load(_folder).Apps.Single();

        Assert.Equal([Path.Combine(_folder, "app", ".dapr", "resources")], app.ResourcesPaths);
        Assert.Null(app.AppPort);
        Assert.Empty(app.Command);
    }

    [Fact]
    public void Malformed_yaml_is_reported_with_the_file_and_the_line()
    {
        var path = Write("version: 1\napps:\n  - appID: a\n   appPort: [\n");

        var error = Assert.Throws<RunFileException>(() => RunFile.Load(path));

        Assert.Contains(path, error.Message);
        Assert.Matches(@"\(\d+,\d+\)", error.Message);
    }

    [Fact]
    public void A_field_of_the_wrong_type_is_reported_with_its_line()
    {
        var path = Write("version: 1\napps:\n  - appID: a\n    appPort: eighty\n");

        var error = Assert.Throws<RunFileException>(() => RunFile.Load(path));

        Assert.Contains($"{path}(4,", error.Message);
    }

    [Fact]
    public void Every_invalid_field_is_named_in_one_error()
    {
        var path = Write("""
            version: 2
            apps:
              - appDirPath: ./nowhere
                appProtocol: soap
                appPort: 70000
                appLogDestination: printer
            """);

        var message = Assert.Throws<RunFileException>(() => RunFile.Load(path)).Message;

        Assert.Contains(path, message);
        Assert.Contains("version: 2 is not supported", message);
        Assert.Contains("apps[0].appID: is required", message);
        Assert.Contains("apps[0].appDirPath: folder", message);
        Assert.Contains("apps[0].appProtocol: 'soap' is not supported; use http or grpc", message);
        Assert.Contains("apps[0].appPort: 70000 is not a TCP port", message);
        Assert.Contains("apps[0].appLogDestination: 'printer'", message);
    }

    [Fact]
    public void Duplicate_app_ids_and_ports_are_refused()
    {
        var path = Write("""
            version: 1
            apps:
              - appID: tickets
                appPort: 5101
              - appID: Tickets
                appPort: 5102
                daprHTTPPort: 5101
            """);

        var message = Assert.Throws<RunFileException>(() => RunFile.Load(path)).Message;

        Assert.Contains("appID 'tickets' is used by 2 apps", message);
        Assert.Contains("port 5101 is given to more than one listener (tickets.appPort, Tickets.daprHTTPPort)", message);
    }

    [Fact]
    public void A_missing_or_empty_file_is_a_clear_error()
    {
        Assert.Contains("run file not found", Assert.Throws<RunFileException>(() => RunFile.Load(Path.Combine(_folder, "none.yaml"))).Message);
        Assert.Contains("the file is empty", Assert.Throws<RunFileException>(() => RunFile.Load(Write(""))).Message);
        Assert.Contains("apps: must list at least one app", Assert.Throws<RunFileException>(() => RunFile.Load(Write("version: 1\n"))).Message);
    }

    [Fact]
    public void A_missing_resources_folder_is_named()
    {
        var path = Write("""
            version: 1
            common:
              resourcesPath: ./components/missing
            apps:
              - appID: a
            """);

        Assert.Contains("common.resourcesPath: folder", Assert.Throws<RunFileException>(() => RunFile.Load(path)).Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
