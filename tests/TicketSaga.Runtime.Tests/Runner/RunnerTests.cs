using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Npgsql;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Runner;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests.Runner;

/// <summary>The runner against real app processes: a tiny Python HTTP app that reports its environment.</summary>
public sealed class RunnerTests(PostgresServer postgres) : IDisposable
{
    private const string EnvironmentApp = """
        import http.server, json, os, subprocess
        helper = subprocess.Popen(["sleep", "300"])
        print("booting " + os.environ["APP_ID"], flush=True)
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"env": dict(os.environ), "pid": os.getpid(), "helper": helper.pid}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        http.server.HTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), Handler).serve_forever()
        """;

    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-runner-").FullName;
    private readonly StringWriter _console = new();
    private readonly HttpClient _http = new();

    [Fact]
    public async Task Every_app_runs_with_its_sidecar_and_the_environment_dapr_run_gives_it_then_stops_without_orphans()
    {
        RequirePython();
        File.WriteAllText(Path.Combine(_folder, "app.py"), EnvironmentApp);
        var (alphaPort, betaPort) = (PortAllocator.FreePort(), PortAllocator.FreePort());
        var runFile = WriteRunFile($"""
            version: 1
            common:
              env:
                GREETING: hello
            apps:
              - appID: alpha
                appPort: {alphaPort}
                appHealthCheckPath: /health
                command: ["python3", "app.py"]
              - appID: beta
                appPort: {betaPort}
                command: ["python3", "app.py"]
                env:
                  GREETING: bonjour
            """);
        var options = await OptionsAsync();

        var runner = await MultiAppRunner.StartAsync(runFile, options, TestContext.Current.CancellationToken);
        var reports = new List<AppReport>();
        await using (runner)
        {
            foreach (var app in runner.Apps)
            {
                Assert.Equal(AppStatus.Healthy, app.Status);
                var report = (await _http.GetFromJsonAsync<AppReport>(app.Descriptor.AppAddress, TestContext.Current.CancellationToken))!;
                reports.Add(report);
                Assert.Equal(app.Definition.AppId, report.Env["APP_ID"]);
                Assert.Equal(app.Descriptor.AppPort.ToString(), report.Env["APP_PORT"]);
                Assert.Equal(app.Descriptor.HttpPort.ToString(), report.Env["DAPR_HTTP_PORT"]);
                Assert.Equal(app.Descriptor.GrpcPort.ToString(), report.Env["DAPR_GRPC_PORT"]);
                // Each app's pool is bounded, so that the apps and the runtime together stay below max_connections.
                Assert.Equal(new Npgsql.NpgsqlConnectionStringBuilder(options.PostgresConnectionString) { MaxPoolSize = 30 }.ConnectionString, report.Env["ConnectionStrings__Postgres"]);

                using var sidecarHealth = await _http.GetAsync($"http://127.0.0.1:{report.Env["DAPR_HTTP_PORT"]}/v1.0/healthz", TestContext.Current.CancellationToken);
                Assert.Equal(HttpStatusCode.NoContent, sidecarHealth.StatusCode);
            }

            Assert.Equal(["hello", "bonjour"], reports.Select(r => r.Env["GREETING"]));
            Assert.Contains("== APP - alpha == booting alpha", _console.ToString());
            Assert.Contains("booting beta", await File.ReadAllTextAsync(Path.Combine(runner.LogDirectory, "beta.log"), TestContext.Current.CancellationToken));
        }

        foreach (var report in reports)
        {
            Assert.False(IsAlive(report.Pid), $"app process {report.Pid} survived the runner");
            Assert.False(IsAlive(report.Helper), $"the app's child process {report.Helper} survived the runner");
            Assert.False(await AcceptsAsync(int.Parse(report.Env["APP_PORT"])));
            Assert.False(await AcceptsAsync(int.Parse(report.Env["DAPR_HTTP_PORT"])));
        }
    }

    [Fact]
    public async Task An_app_that_never_becomes_healthy_is_named_with_the_tail_of_its_log_and_stopped()
    {
        var runFile = WriteRunFile($"""
            version: 1
            apps:
              - appID: stuck
                appPort: {PortAllocator.FreePort()}
                command: ["sh", "-c", "echo $$ > pid; echo waiting for a database that never answers; exec sleep 60"]
            """);
        var options = await OptionsAsync() with { HealthTimeout = TimeSpan.FromSeconds(2) };

        var error = await Assert.ThrowsAsync<RunnerException>(() => MultiAppRunner.StartAsync(runFile, options, TestContext.Current.CancellationToken));

        Assert.Contains("App 'stuck' did not become healthy within 2 s", error.Message);
        Assert.Contains("waiting for a database that never answers", error.Message);
        Assert.False(IsAlive(int.Parse(await File.ReadAllTextAsync(Path.Combine(_folder, "pid"), TestContext.Current.CancellationToken))));
    }

    [Fact]
    public async Task An_app_that_exits_during_start_up_is_reported_with_its_exit_code_and_output()
    {
        var runFile = WriteRunFile($"""
            version: 1
            apps:
              - appID: broken
                appPort: {PortAllocator.FreePort()}
                command: ["sh", "-c", "echo 'ConnectionStrings__tickets is not set' >&2; exit 3"]
            """);

        var error = await Assert.ThrowsAsync<RunnerException>(async () => await MultiAppRunner.StartAsync(runFile, await OptionsAsync(), TestContext.Current.CancellationToken));

        Assert.Contains("App 'broken' exited with code 3 before it became healthy", error.Message);
        Assert.Contains("ConnectionStrings__tickets is not set", error.Message);
    }

    [Fact]
    public async Task A_crashed_app_is_restarted_with_growing_back_off_and_is_healthy_again_without_its_old_children()
    {
        RequirePython();
        File.WriteAllText(Path.Combine(_folder, "app.py"), EnvironmentApp);
        var runFile = WriteRunFile($"""
            version: 1
            apps:
              - appID: alpha
                appPort: {PortAllocator.FreePort()}
                appHealthCheckPath: /health
                command: ["python3", "app.py"]
            """);
        var options = await OptionsAsync() with { RestartPolicy = new AppRestartPolicy(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1)) };

        await using var runner = await MultiAppRunner.StartAsync(runFile, options, TestContext.Current.CancellationToken);
        var app = runner.Apps.Single();
        var first = await ReportAsync(app);
        Kill(first.Pid);
        // The runner marks the app healthy a moment before it says so on the console: wait for both.
        await WaitUntilAsync(() => app.Restarts == 1 && app.Status == AppStatus.Healthy && _console.ToString().Contains("healthy again after restart 1"));
        var second = await ReportAsync(app);
        Kill(second.Pid);
        await WaitUntilAsync(() => app.Restarts == 2 && app.Status == AppStatus.Healthy && _console.ToString().Contains("healthy again after restart 2"));
        var third = await ReportAsync(app);

        Assert.Equal(3, new[] { first.Pid, second.Pid, third.Pid }.Distinct().Count());
        Assert.False(IsAlive(first.Helper), "the crashed app's child process survived its restart");
        Assert.False(IsAlive(second.Helper), "the crashed app's child process survived its restart");
        Assert.Equal(137, app.ExitCode);
        var console = _console.ToString();
        Assert.Contains($"== alpha exited with code 137; restart 1 in 0.5 s == (log: {app.Log.FilePath})", console);
        Assert.Contains("== alpha is healthy again after restart 1 ==", console);
        Assert.Contains("== alpha exited with code 137; restart 2 in 1 s ==", console);
        Assert.Contains("== alpha is healthy again after restart 2 ==", console);
        Assert.False(runner.AppExited.IsCompleted);
    }

    [Fact]
    public async Task An_app_healthy_for_the_reset_time_is_restarted_after_the_first_delay_again()
    {
        RequirePython();
        File.WriteAllText(Path.Combine(_folder, "app.py"), EnvironmentApp);
        var runFile = WriteRunFile($"""
            version: 1
            apps:
              - appID: alpha
                appPort: {PortAllocator.FreePort()}
                command: ["python3", "app.py"]
            """);
        var resetAfter = TimeSpan.FromSeconds(2);
        var options = await OptionsAsync() with { RestartPolicy = new AppRestartPolicy(TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(30), resetAfter) };

        await using var runner = await MultiAppRunner.StartAsync(runFile, options, TestContext.Current.CancellationToken);
        var app = runner.Apps.Single();
        Kill((await ReportAsync(app)).Pid);
        await WaitUntilAsync(() => app.Restarts == 1 && app.Status == AppStatus.Healthy);
        await Task.Delay(resetAfter + TimeSpan.FromSeconds(0.5), TestContext.Current.CancellationToken);
        Kill((await ReportAsync(app)).Pid);
        await WaitUntilAsync(() => app.Restarts == 2 && app.Status == AppStatus.Healthy);

        Assert.Contains("== alpha exited with code 137; restart 2 in 0.5 s ==", _console.ToString());
    }

    [Fact]
    public async Task A_taken_port_is_named_in_one_line_with_the_process_holding_it_and_nothing_starts()
    {
        RequirePython();
        var port = PortAllocator.FreePort();
        using var holder = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("python3",
            ["-c", $"import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', {port}))\ns.listen()\nprint('listening', flush=True)\ntime.sleep(300)"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("listening", await holder.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
            var runFile = WriteRunFile($"""
                version: 1
                apps:
                  - appID: gateway
                    appPort: {port}
                    command: ["sh", "-c", "touch started; exec sleep 60"]
                """);

            var error = await Assert.ThrowsAsync<RunnerException>(async () => await MultiAppRunner.StartAsync(runFile, await OptionsAsync(), TestContext.Current.CancellationToken));

            Assert.Equal($"Port {port} (gateway) is already taken by python3 (pid {holder.Id}); stop it or free the port, then try again.", error.Message);
            Assert.False(File.Exists(Path.Combine(_folder, "started")));
        }
        finally
        {
            holder.Kill();
        }
    }

    [Fact]
    public async Task A_taken_sidecar_port_is_named_with_its_app()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var runFile = WriteRunFile($"""
            version: 1
            apps:
              - appID: beta
                daprHTTPPort: {port}
                command: ["sh", "-c", "touch started; exec sleep 60"]
            """);

        var error = await Assert.ThrowsAsync<RunnerException>(async () => await MultiAppRunner.StartAsync(runFile, await OptionsAsync(), TestContext.Current.CancellationToken));

        Assert.StartsWith($"Port {port} (beta's sidecar HTTP) is already taken by ", error.Message);
        Assert.Contains($"(pid {Environment.ProcessId})", error.Message);
        Assert.DoesNotContain('\n', error.Message);
        Assert.False(File.Exists(Path.Combine(_folder, "started")));
    }

    [Fact]
    public async Task Apps_log_requests_at_warning_unless_verbose_and_the_run_file_can_still_choose()
    {
        RequirePython();
        File.WriteAllText(Path.Combine(_folder, "app.py"), EnvironmentApp);
        var runFile = WriteRunFile($"""
            version: 1
            apps:
              - appID: quiet
                appPort: {PortAllocator.FreePort()}
                command: ["python3", "app.py"]
              - appID: chatty
                appPort: {PortAllocator.FreePort()}
                command: ["python3", "app.py"]
                env:
                  Logging__LogLevel__Microsoft.AspNetCore: Information
            """);

        await using (var runner = await MultiAppRunner.StartAsync(runFile, await OptionsAsync(), TestContext.Current.CancellationToken))
        {
            var quiet = await ReportAsync(runner.Apps[0]);
            var chatty = await ReportAsync(runner.Apps[1]);
            Assert.Equal("Warning", quiet.Env["Logging__LogLevel__Microsoft.AspNetCore"]);
            Assert.Equal("Warning", quiet.Env["Logging__LogLevel__System.Net.Http"]);
            Assert.Equal("Warning", quiet.Env["Logging__LogLevel__Yarp"]);
            Assert.Equal("Warning", quiet.Env["Logging__LogLevel__Grpc"]);
            Assert.Equal("Information", chatty.Env["Logging__LogLevel__Microsoft.AspNetCore"]);
        }

        await using (var runner = await MultiAppRunner.StartAsync(runFile, await OptionsAsync() with { VerboseAppLogs = true }, TestContext.Current.CancellationToken))
        {
            var verbose = await ReportAsync(runner.Apps[0]);
            Assert.Equal("Information", verbose.Env["Logging__LogLevel__Microsoft.AspNetCore"]);
            Assert.Equal("Information", verbose.Env["Logging__LogLevel__System.Net.Http"]);
            Assert.Equal("Information", verbose.Env["Logging__LogLevel__Yarp"]);
        }
    }

    [Fact]
    public async Task An_app_that_dies_after_start_up_stops_the_run_when_asked_to()
    {
        var runFile = WriteRunFile($"""
            version: 1
            apps:
              - appID: fragile
                command: ["sh", "-c", "echo started; exec sleep 600"]
            """);

        await using var runner = await MultiAppRunner.StartAsync(runFile, await OptionsAsync() with { RestartPolicy = null }, TestContext.Current.CancellationToken);
        var app = runner.Apps.Single();
        using (var process = System.Diagnostics.Process.GetProcessById(app.Process!.Id))
        {
            process.Kill();
        }

        var exited = await runner.AppExited.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.Same(app, exited);
        Assert.Equal(AppStatus.Exited, app.Status);
        Assert.Contains("== fragile exited with code 137 ==", _console.ToString());
    }

    [Fact]
    public async Task A_one_shot_client_that_finishes_stops_only_itself()
    {
        var runFile = WriteRunFile("""
            version: 1
            apps:
              - appID: server
                command: ["sh", "-c", "exec sleep 600"]
              - appID: quick-client
                command: ["sh", "-c", "echo done"]
              - appID: slow-client
                command: ["sh", "-c", "sleep 1; echo done"]
            """);

        await using var runner = await MultiAppRunner.StartAsync(runFile, await OptionsAsync() with { RestartPolicy = null }, TestContext.Current.CancellationToken);
        var (server, quick, slow) = (runner.Apps[0], runner.Apps[1], runner.Apps[2]);
        await WaitUntilAsync(() => slow.Status == AppStatus.Finished);
        await Task.Delay(500, TestContext.Current.CancellationToken);

        Assert.Equal(AppStatus.Finished, quick.Status);
        Assert.Equal(0, slow.ExitCode);
        Assert.Equal(AppStatus.Healthy, server.Status);
        Assert.True(IsAlive(server.Process!.Id));
        Assert.False(runner.AppExited.IsCompleted);
        Assert.False(runner.AllFinished.IsCompleted);
        Assert.Contains("== slow-client finished (exit code 0); the other apps keep running ==", _console.ToString());
    }

    [Fact]
    public async Task The_run_ends_when_every_app_has_finished()
    {
        var runFile = WriteRunFile("""
            version: 1
            apps:
              - appID: first
                command: ["sh", "-c", "echo done"]
              - appID: second
                command: ["sh", "-c", "sleep 1; echo done"]
            """);

        await using var runner = await MultiAppRunner.StartAsync(runFile, await OptionsAsync(), TestContext.Current.CancellationToken);
        await runner.AllFinished.WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);

        Assert.All(runner.Apps, app => Assert.Equal(AppStatus.Finished, app.Status));
        Assert.False(runner.AppExited.IsCompleted);
        Assert.Equal(0, runner.Apps.Sum(app => app.Restarts));
    }

    [Fact]
    public async Task The_sidecar_of_an_app_without_a_port_never_calls_the_app()
    {
        var runFile = WriteRunFile("""
            version: 1
            apps:
              - appID: client
                command: ["sh", "-c", "exec sleep 600"]
            """);

        await using var runner = await MultiAppRunner.StartAsync(runFile, await OptionsAsync(), TestContext.Current.CancellationToken);
        var sidecar = runner.Apps[0].Descriptor;
        using var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{sidecar.HttpPort}/v1.0/metadata");
        request.Headers.Add(AppDescriptor.TokenHeader, sidecar.DaprApiToken);
        using var metadata = await _http.SendAsync(request, TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(3), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.OK, metadata.StatusCode);
        var log = await File.ReadAllTextAsync(Path.Combine(runner.LogDirectory, "runtime.log"), TestContext.Current.CancellationToken);
        Assert.DoesNotContain("127.0.0.1:0", log);
        Assert.DoesNotContain("   at ", log);
        Assert.DoesNotContain("Microsoft.AspNetCore.Hosting.Diagnostics", log); // no lines per request
    }

    private async Task<AppReport> ReportAsync(RunningApp app) =>
        (await _http.GetFromJsonAsync<AppReport>(app.Descriptor.AppAddress, TestContext.Current.CancellationToken))!;

    private static void Kill(int pid)
    {
        using var process = System.Diagnostics.Process.GetProcessById(pid);
        process.Kill();
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        while (!condition())
        {
            await Task.Delay(100, timeout.Token);
        }
    }

    private RunFile WriteRunFile(string yaml)
    {
        File.WriteAllText(Path.Combine(_folder, "dapr.yaml"), yaml);
        return RunFile.Load(_folder);
    }

    private async Task<RunnerOptions> OptionsAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync("runner");
        return new RunnerOptions
        {
            PostgresConnectionString = connectionString,
            RuntimeDatabase = new NpgsqlConnectionStringBuilder(connectionString).Database!,
            Console = new RunnerConsole(_console, colors: false),
            HealthTimeout = TimeSpan.FromSeconds(30),
            StopGracePeriod = TimeSpan.FromSeconds(5),
        };
    }

    private static void RequirePython()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, "python3")));
        Assert.SkipUnless(onPath, "python3 is not installed");
    }

    /// <summary>Alive and not a zombie waiting to be reaped.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    private static async Task<bool> AcceptsAsync(int port)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private sealed record AppReport(Dictionary<string, string> Env, int Pid, int Helper);
}
