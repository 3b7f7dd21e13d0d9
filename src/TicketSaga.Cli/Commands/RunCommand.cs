using System.Diagnostics;
using System.Globalization;
using System.CommandLine;
using System.Runtime.InteropServices;
using Spectre.Console;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Runtime.Runner;
using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.Cli.Commands;

/// <summary>Options shared by `run` and `up`.</summary>
internal sealed record RunSettings(
    string? RunFile, string? Postgres, IReadOnlyList<string> ResourcesPaths, bool Build, TimeSpan HealthTimeout, bool Verbose, bool StopOnAppExit)
{
    /// <summary>Extra environment per app id for this run (see <see cref="RunnerOptions.AppEnvironment"/>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> AppEnvironment { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>Environment for every app of this run (e.g. short retention periods).</summary>
    public IReadOnlyDictionary<string, string> CommonEnvironment { get; init; } = new Dictionary<string, string>();

    public RetentionOptions RuntimeRetention { get; init; } = new();

    public DeliveryFaults DeliveryFaults { get; init; } = DeliveryFaults.None;

    /// <summary>The runtime's own database on the PostgreSQL server (<see cref="RunnerOptions.RuntimeDatabase"/>).</summary>
    public string RuntimeDatabase { get; init; } = RunnerOptions.DefaultRuntimeDatabase;
}

/// <summary>The command-line options of `run` and `up`, read into <see cref="RunSettings"/>.</summary>
internal sealed class RunOptions
{
    private readonly Option<string?> _postgres = new("--postgres")
    {
        Description = "PostgreSQL to use (or TICKETSAGA_POSTGRES); default: a local cluster kept in .ticketsaga/postgres.",
    };

    private readonly Option<string[]> _resourcesPaths = new("--resources-path")
    {
        Description = "Components folder, repeatable (or TICKETSAGA_RESOURCES_PATH); default: the folders named in dapr.yaml.",
        AllowMultipleArgumentsPerToken = false,
    };

    private readonly Option<string> _runtimeDatabase = new("--runtime-database")
    {
        Description = "The runtime's own database on that server: state, the pub/sub log, workflows, actors. A new name starts from an empty store.",
        DefaultValueFactory = _ => RunnerOptions.DefaultRuntimeDatabase,
    };

    private readonly Option<bool> _noBuild = new("--no-build") { Description = "Skip `dotnet build` of the solution beside the run file." };

    private readonly Option<bool> _verbose = new("--verbose")
    {
        Description = "Show every request the apps serve and send (ASP.NET Core and HttpClient logs at Information); by default only their warnings and the apps' own lines.",
    };

    private readonly Option<bool> _stopOnAppExit = new("--stop-on-app-exit")
    {
        Description = "Stop everything when an app exits, keeping it for inspection, instead of restarting it with back-off (1 s, 2 s, 4 s ... 30 s).",
    };

    private readonly Option<int> _healthTimeout = new("--health-timeout")
    {
        Description = "Seconds the apps get to become healthy.",
        DefaultValueFactory = _ => 90,
    };

    public RunOptions()
    {
        _healthTimeout.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int>() <= 0)
            {
                result.AddError("--health-timeout must be a positive number of seconds.");
            }
        });
        _runtimeDatabase.Validators.Add(result =>
        {
            if (!RunnerOptions.IsDatabaseName(result.GetValueOrDefault<string>()))
            {
                result.AddError("--runtime-database must be 1 to 63 lower-case letters, digits or '_', starting with a letter.");
            }
        });
    }

    public void AddTo(Command command)
    {
        command.Options.Add(_postgres);
        command.Options.Add(_resourcesPaths);
        command.Options.Add(_runtimeDatabase);
        command.Options.Add(_noBuild);
        command.Options.Add(_healthTimeout);
        command.Options.Add(_verbose);
        command.Options.Add(_stopOnAppExit);
    }

    public RunSettings Read(ParseResult parse, string? runFile)
    {
        var resources = parse.GetValue(_resourcesPaths) is { Length: > 0 } given
            ? given
            : (Environment.GetEnvironmentVariable("TICKETSAGA_RESOURCES_PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return new RunSettings(
            runFile,
            parse.GetValue(_postgres) ?? Environment.GetEnvironmentVariable("TICKETSAGA_POSTGRES"),
            [.. resources.Select(Path.GetFullPath)],
            Build: !parse.GetValue(_noBuild),
            TimeSpan.FromSeconds(parse.GetValue(_healthTimeout)),
            parse.GetValue(_verbose),
            parse.GetValue(_stopOnAppExit))
        {
            RuntimeDatabase = parse.GetValue(_runtimeDatabase)!,
        };
    }
}

/// <summary>
/// `ticketsaga run -f dapr.yaml`: every app of the run file with its sidecar on the embedded runtime,
/// until Ctrl+C or SIGTERM. An app that dies is restarted with back-off; with --stop-on-app-exit the
/// run stops as a whole instead and exits with 1, the app's log tail saying what went wrong.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var runFile = new Option<string>("--run-file", "-f")
        {
            Description = "The multi-app run file (`dapr run -f` format), or a folder holding dapr.yaml.",
            DefaultValueFactory = _ => ".",
        };
        var options = new RunOptions();
        var command = new Command("run", "Start the apps of a multi-app run file, each with its sidecar, on the embedded Dapr runtime.") { runFile };
        options.AddTo(command);
        command.SetAction((parse, _) => RunAsync(options.Read(parse, parse.GetValue(runFile)), onStarted: null));
        return command;
    }

    /// <param name="onStarted">What to do once every app is healthy (e.g. seed data and print hints) instead of the summary table.</param>
    public static async Task<int> RunAsync(RunSettings settings, Func<RunSession, CancellationToken, Task>? onStarted)
    {
        using var shutdown = new CancellationTokenSource();
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        try
        {
            var runFile = RunFile.Load(settings.RunFile!);
            // Before the build: a taken port should not cost one.
            PortCheck.EnsureFree(MultiAppRunner.PortsOf(runFile));
            if (settings.Build && !await BuildAsync(runFile.Directory, shutdown.Token))
            {
                return 1;
            }

            await using var postgres = await RunnerPostgres.ResolveAsync(settings.Postgres, Path.Combine(runFile.Directory, ".ticketsaga"), shutdown.Token);
            AnsiConsole.MarkupLineInterpolated($"[grey]PostgreSQL:[/] {postgres.Description}");
            AnsiConsole.MarkupLineInterpolated($"[grey]Starting {string.Join(", ", runFile.Apps.Select(a => a.AppId))} on the embedded Dapr runtime...[/]");
            var options = new RunnerOptions
            {
                PostgresConnectionString = postgres.ConnectionString,
                RuntimeDatabase = settings.RuntimeDatabase,
                ResourcesPaths = settings.ResourcesPaths.Count > 0 ? settings.ResourcesPaths : null,
                HealthTimeout = settings.HealthTimeout,
                DefaultEnvironment = DevelopmentAuthEnvironment(runFile).Concat(settings.CommonEnvironment).ToDictionary(),
                RuntimeRetention = settings.RuntimeRetention,
                DeliveryFaults = settings.DeliveryFaults,
                AppEnvironment = settings.AppEnvironment,
                VerboseAppLogs = settings.Verbose,
                RestartPolicy = settings.StopOnAppExit ? null : AppRestartPolicy.Default,
            };
            await using var runner = await MultiAppRunner.StartAsync(runFile, options, shutdown.Token);
            var session = new RunSession(runFile, runner, postgres);
            // `up` says what a newcomer needs first and lists the apps after it.
            if (onStarted is null)
            {
                PrintSummary(session);
            }
            else
            {
                await onStarted(session, shutdown.Token);
            }

            AnsiConsole.MarkupLine("[grey]Press Ctrl+C to stop.[/]");
            var signalled = new TaskCompletionSource();
            await using var signal = shutdown.Token.Register(() => signalled.TrySetResult());
            var ended = await Task.WhenAny(runner.AppExited, runner.AllFinished, signalled.Task);
            if (ended == runner.AllFinished)
            {
                AnsiConsole.MarkupLine("[grey]Every app has finished; stopping the sidecars and the runtime...[/]");
                return 0;
            }

            if (ended == runner.AppExited)
            {
                var died = await runner.AppExited;
                AnsiConsole.MarkupLineInterpolated($"[red bold]App '{died.Definition.AppId}' stopped unexpectedly (exit code {died.ExitCode}); stopping everything. Its last output ({died.Log.FilePath}):[/]");
                AnsiConsole.WriteLine(died.Log.Tail());
                return 1;
            }

            AnsiConsole.MarkupLine("[grey]Stopping apps, sidecars and the runtime...[/]");
            return 0;
        }
        catch (RunFileException ex)
        {
            Fail(ex.Message);
            return 2;
        }
        catch (RunnerException ex)
        {
            Fail(ex.Message);
            return 1;
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            AnsiConsole.MarkupLine("[grey]Stopped before every app was up.[/]");
            return 0;
        }

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            shutdown.Cancel();
        }
    }

    /// <summary>A failure to standard error as it is: Spectre would wrap a one-line message at the console width.</summary>
    internal static void Fail(string message) => Console.Error.WriteLine(
        Console.IsErrorRedirected || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")) ? message : $"\u001b[31m{message}\u001b[0m");

    /// <summary>
    /// Every app validates JWTs: unless the environment names an OIDC authority or a key, apps get the
    /// development key `ticketsaga token` signs with.
    /// </summary>
    private static Dictionary<string, string> DevelopmentAuthEnvironment(RunFile runFile) =>
        string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("Auth__Authority"))
        && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable("Auth__SigningKey"))
            ? new Dictionary<string, string> { ["Auth__SigningKey"] = DevSigningKey.LoadOrCreate(runFile.FilePath) }
            : [];

    /// <summary>Builds the solution beside the run file once, so app commands can run the built output.</summary>
    private static async Task<bool> BuildAsync(string folder, CancellationToken cancellationToken)
    {
        var solution = Directory.EnumerateFiles(folder, "*.sln").Concat(Directory.EnumerateFiles(folder, "*.slnx")).FirstOrDefault();
        if (solution is null)
        {
            return true;
        }

        var output = new List<string>();
        var exitCode = await AnsiConsole.Status().StartAsync($"Building {Path.GetFileName(solution)} (dotnet build)...", async _ =>
        {
            var info = new ProcessStartInfo("dotnet", ["build", solution, "--nologo", "-v", "quiet"])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = folder,
            };
            using var build = Process.Start(info)!;
            var lines = Task.WhenAll(Collect(build.StandardOutput, output), Collect(build.StandardError, output));
            await build.WaitForExitAsync(cancellationToken);
            await lines;
            return build.ExitCode;
        });
        if (exitCode == 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[green]Built[/] {Path.GetFileName(solution)}");
            return true;
        }

        AnsiConsole.MarkupLineInterpolated($"[red]dotnet build {Path.GetFileName(solution)} failed ({exitCode}):[/]");
        foreach (var line in output.Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).DefaultIfEmpty().Concat(output.TakeLast(5)).OfType<string>().Distinct())
        {
            AnsiConsole.WriteLine(line);
        }

        return false;
    }

    private static async Task Collect(StreamReader reader, List<string> lines)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (lines)
            {
                lines.Add(line);
            }
        }
    }

    private static void PrintSummary(RunSession session)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("App ID", "App port", "Protocol", "Sidecar HTTP", "Sidecar gRPC", "Status");
        foreach (var app in session.Runner.Apps)
        {
            table.AddRow(
                app.Definition.AppId,
                app.Definition.AppPort?.ToString(CultureInfo.InvariantCulture) ?? "-",
                app.Definition.Protocol.ToString().ToLowerInvariant(),
                app.Descriptor.HttpPort.ToString(CultureInfo.InvariantCulture),
                app.Descriptor.GrpcPort.ToString(CultureInfo.InvariantCulture),
                app.Status != AppStatus.Healthy ? Markup.Escape(app.Status.ToString()) : app.Definition.AppPort is null ? "[green]running[/]" : "[green]healthy[/]");
        }

        AnsiConsole.Write(table);
        var resources = session.Runner.ResourcesPaths.Select(p => Path.GetRelativePath(session.RunFile.Directory, p));
        AnsiConsole.MarkupLineInterpolated($"[grey]Resources:[/] {string.Join(", ", resources.DefaultIfEmpty("(built-in defaults)"))}   [grey]Logs:[/] {Path.GetRelativePath(session.RunFile.Directory, session.Runner.LogDirectory)}");
    }
}

internal sealed record RunSession(RunFile RunFile, MultiAppRunner Runner, RunnerPostgres Postgres);
