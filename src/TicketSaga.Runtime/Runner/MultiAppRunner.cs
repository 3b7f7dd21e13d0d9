using System.Globalization;
using Microsoft.Extensions.Logging;
using Npgsql;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;
using TicketSaga.ServiceDefaults.Retention;

namespace TicketSaga.Runtime.Runner;

public sealed record RunnerOptions
{
    /// <summary>The PostgreSQL server the runtime and the apps use (ConnectionStrings__Postgres for the apps).</summary>
    public required string PostgresConnectionString { get; init; }

    public const string DefaultRuntimeDatabase = "dapr_runtime";

    /// <summary>The runtime's own database on that server (created when missing).</summary>
    public string RuntimeDatabase { get; init; } = DefaultRuntimeDatabase;

    /// <summary>A name that needs no quoting in PostgreSQL.</summary>
    public static bool IsDatabaseName(string? name) =>
        name is { Length: > 0 and <= 63 } && char.IsAsciiLetterLower(name[0]) && name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');

    /// <summary>Replaces the resources paths named in the run file when set.</summary>
    public IReadOnlyList<string>? ResourcesPaths { get; init; }

    /// <summary>Where the apps' and the runtime's log files go; default <c>.ticketsaga/logs</c> beside the run file.</summary>
    public string? LogDirectory { get; init; }

    public TimeSpan HealthTimeout { get; init; } = TimeSpan.FromSeconds(90);

    /// <summary>Defaults for every app (e.g. Auth__SigningKey); the run file's env can override them.</summary>
    public IReadOnlyDictionary<string, string> DefaultEnvironment { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Extra environment per app id, decided by this run (e.g. the local Stripe stub's key for
    /// payment-service); it wins over the run file's env.
    /// </summary>
    public IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> AppEnvironment { get; init; } =
        new Dictionary<string, IReadOnlyDictionary<string, string>>();

    /// <summary>How long an app gets to stop after SIGTERM before its process tree is killed.</summary>
    public TimeSpan StopGracePeriod { get; init; } = TimeSpan.FromSeconds(10);

    public RunnerConsole Console { get; init; } = RunnerConsole.Standard();

    /// <summary>
    /// Whether the apps also log every request they serve, send or proxy (ASP.NET Core's, HttpClient's
    /// and YARP's information lines, health checks included); by default those log warnings only, so
    /// the apps' own lines stay readable.
    /// </summary>
    public bool VerboseAppLogs { get; init; }

    /// <summary>The runtime's own retention (pub/sub log, dead letters, actor state).</summary>
    public RetentionOptions RuntimeRetention { get; init; } = new();

    /// <summary>Duplicate or reordered pub/sub deliveries (chaos runs); none by default.</summary>
    public DeliveryFaults DeliveryFaults { get; init; } = DeliveryFaults.None;

    /// <summary>How a crashed app is restarted; null ends the run at the first app that exits (<see cref="MultiAppRunner.AppExited"/>).</summary>
    public AppRestartPolicy? RestartPolicy { get; init; } = AppRestartPolicy.Default;
}

public enum AppStatus
{
    Starting,
    Healthy,
    Restarting,
    Exited,

    /// <summary>Ended by itself with exit code 0 (a one-shot client): done, neither restarted nor a reason to stop the others.</summary>
    Finished,
    Stopped,
}

/// <summary>One app of a run, its sidecar's ports and its process.</summary>
public sealed class RunningApp(RunFileApp definition, AppDescriptor descriptor, AppLog log)
{
    public RunFileApp Definition { get; } = definition;

    public AppDescriptor Descriptor { get; } = descriptor;

    public AppLog Log { get; } = log;

    public AppProcess? Process { get; internal set; }

    public AppStatus Status { get; internal set; }

    public int? ExitCode { get; internal set; }

    /// <summary>How often the runner restarted the app after a crash.</summary>
    public int Restarts { get; internal set; }

    /// <summary>Restarts since the app was last healthy for the policy's reset time; sets the back-off.</summary>
    internal int RestartsInARow { get; set; }

    internal DateTimeOffset HealthySince { get; set; }
}

/// <summary>
/// `dapr run -f` on the embedded runtime: the fixed ports checked, one runtime, a sidecar per app,
/// then each app's command with the environment `dapr run` gives it, logs prefixed per app, and a
/// wait until every app is healthy. An app that crashes afterwards is restarted with back-off (see
/// <see cref="RunnerOptions.RestartPolicy"/>). Disposing stops the apps first (SIGTERM, then kill
/// after the grace period), then the sidecars and the runtime.
/// </summary>
public sealed class MultiAppRunner : IAsyncDisposable
{
    private readonly RunFile _runFile;
    private readonly RunnerOptions _options;
    private readonly ILoggerFactory _loggerFactory;
    private readonly List<RunningApp> _apps = [];
    private readonly TaskCompletionSource<RunningApp> _appExited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allFinished = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<Task> _watchers = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private EmbeddedRuntime? _runtime;
    private bool _stopping;
    private volatile bool _disposed;
    private CancellationTokenRegistration _shutdownRegistration;

    private MultiAppRunner(RunFile runFile, RunnerOptions options)
    {
        _runFile = runFile;
        _options = options;
        LogDirectory = options.LogDirectory ?? Path.Combine(runFile.Directory, ".ticketsaga", "logs");
        ResourcesPaths = options.ResourcesPaths ?? [.. runFile.Apps.SelectMany(a => a.ResourcesPaths).Distinct()];
        var daprdToConsole = runFile.Apps.Any(a => a.DaprdLogDestination != LogDestination.File);
        var provider = new RunnerLoggerProvider(Path.Combine(LogDirectory, "runtime.log"), daprdToConsole ? options.Console : null);
        _loggerFactory = LoggerFactory.Create(logging => logging
            .AddProvider(provider)

            // Like daprd at its default level: no lines per request (hosting, routing, proxying, HttpClient
            // each log several, the workflow sidecar one per start), which under load cost more than the requests' own work.
            .AddFilter("Microsoft.AspNetCore", LogLevel.Warning)
            .AddFilter("System.Net.Http.HttpClient", LogLevel.Warning)
            .AddFilter("Yarp", LogLevel.Warning)
            .AddFilter("Microsoft.DurableTask", LogLevel.Warning));
    }

    public IReadOnlyList<RunningApp> Apps => _apps;

    public string LogDirectory { get; }

    public IReadOnlyList<string> ResourcesPaths { get; }

    public EmbeddedRuntime Runtime => _runtime ?? throw new InvalidOperationException("The runtime is not started.");

    /// <summary>
    /// Completes when an app's process ends while the runner is not stopping it and no
    /// <see cref="RunnerOptions.RestartPolicy"/> brings it back.
    /// </summary>
    public Task<RunningApp> AppExited => _appExited.Task;

    /// <summary>Completes when every app with a command has finished (exit code 0), as `dapr run -f` ends when all its apps have.</summary>
    public Task AllFinished => _allFinished.Task;

    /// <summary>The fixed ports a run file asks for (app ports, sidecar ports named in it); the others are picked free.</summary>
    public static IEnumerable<PortUse> PortsOf(RunFile runFile) => runFile.Apps.SelectMany(app => new[]
    {
        app.AppPort is { } port ? new PortUse(port, app.AppId) : null,
        app.DaprHttpPort is { } http ? new PortUse(http, $"{app.AppId}'s sidecar HTTP") : null,
        app.DaprGrpcPort is { } grpc ? new PortUse(grpc, $"{app.AppId}'s sidecar gRPC") : null,
    }).OfType<PortUse>();

    /// <summary>
    /// Starts everything and returns once every app is healthy; on failure everything started is
    /// stopped again. A taken port fails before anything starts. Cancelling <paramref name="shutdown"/>
    /// (Ctrl+C) marks the run as stopping, so apps that end because of the same signal are neither
    /// reported as crashed nor restarted.
    /// </summary>
    public static async Task<MultiAppRunner> StartAsync(RunFile runFile, RunnerOptions options, CancellationToken shutdown = default)
    {
        PortCheck.EnsureFree(PortsOf(runFile));
        var runner = new MultiAppRunner(runFile, options);
        runner._shutdownRegistration = shutdown.Register(runner.StopWatching);
        try
        {
            await runner.StartCoreAsync(shutdown);
            return runner;
        }
        catch
        {
            await runner.DisposeAsync();
            throw;
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        _runtime = await EmbeddedRuntime.StartAsync(
            new RuntimeOptions
            {
                PostgresConnectionString = _options.PostgresConnectionString,
                Database = _options.RuntimeDatabase,
                ResourcesPaths = ResourcesPaths,
                ConfigFilePath = _runFile.ConfigFilePath,
                Retention = _options.RuntimeRetention,
                DeliveryFaults = _options.DeliveryFaults,
            },
            _loggerFactory,
            cancellationToken);

        foreach (var (definition, index) in _runFile.Apps.Select((app, index) => (app, index)))
        {
            var descriptor = new AppDescriptor(
                definition.AppId,
                definition.AppPort ?? 0,
                definition.Protocol,
                definition.DaprHttpPort ?? PortAllocator.FreePort(),
                definition.DaprGrpcPort ?? PortAllocator.FreePort()).WithNewTokens();
            var app = new RunningApp(definition, descriptor, new AppLog(
                definition.AppId, index, definition.AppLogDestination, Path.Combine(LogDirectory, definition.AppId + ".log"), _options.Console));
            _apps.Add(app);
            await AddSidecarAsync(descriptor, cancellationToken);
            if (definition.Command.Count > 0)
            {
                app.Process = AppProcess.Start(definition, AppEnvironment(app), app.Log);
            }
        }

        await WaitUntilHealthyAsync(cancellationToken);
        // Watched only from here: an app that fails during start-up fails the start, with its log.
        foreach (var app in _apps.Where(a => a.Process is not null && a.Status != AppStatus.Finished))
        {
            _watchers.Add(WatchAsync(app));
        }

        NoteFinished();
    }

    private async Task AddSidecarAsync(AppDescriptor descriptor, CancellationToken cancellationToken)
    {
        try
        {
            await Runtime.AddSidecarAsync(descriptor, cancellationToken);
        }
        catch (IOException ex)
        {
            throw new RunnerException(
                $"App '{descriptor.AppId}': its sidecar cannot listen on HTTP port {descriptor.HttpPort} / gRPC port {descriptor.GrpcPort}: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Connections each app may hold: every app, the runtime and their sum stay well below PostgreSQL's
    /// max_connections (300 in the local cluster), so a load peak waits in the pools instead of being refused by the server.
    /// </summary>
    private const int AppMaxPoolSize = 30;

    /// <summary>
    /// The process environment, later entries winning: the runner's own, the PostgreSQL in use, the
    /// log levels and the default environment, the run file's env (common then app), the run's own per-app env, then what
    /// `dapr run` sets (APP_ID, APP_PORT, DAPR_*_PORT...).
    /// </summary>
    private Dictionary<string, string> AppEnvironment(RunningApp app)
    {
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["ConnectionStrings__Postgres"] = new NpgsqlConnectionStringBuilder(_options.PostgresConnectionString) { MaxPoolSize = AppMaxPoolSize }.ConnectionString,
        };
        var extra = _options.AppEnvironment.GetValueOrDefault(app.Definition.AppId) ?? new Dictionary<string, string>();
        foreach (var (name, value) in AppLogLevels().Concat(_options.DefaultEnvironment).Concat(app.Definition.Env).Concat(extra).Concat(app.Descriptor.AppEnvironment))
        {
            environment[name] = value;
        }

        environment["APP_PROTOCOL"] = app.Definition.Protocol == AppChannelProtocol.Grpc ? "grpc" : "http";
        if (app.Definition.AppPort is null)
        {
            environment.Remove("APP_PORT");
        }

        return environment;
    }

    /// <summary>
    /// The per-request logging of ASP.NET Core, gRPC (a NotFound answer is a request log, not an error),
    /// HttpClient and YARP: warnings only unless verbose. As
    /// configuration from the environment it wins over an app's appsettings.json (which may quieten
    /// them itself) and loses to the run file's env.
    /// </summary>
    private Dictionary<string, string> AppLogLevels()
    {
        var level = _options.VerboseAppLogs ? "Information" : "Warning";
        return new Dictionary<string, string>
        {
            ["Logging__LogLevel__Microsoft.AspNetCore"] = level,
            ["Logging__LogLevel__System.Net.Http"] = level,
            ["Logging__LogLevel__Yarp"] = level,
            ["Logging__LogLevel__Grpc"] = level,
        };
    }

    /// <summary>Keeps a started app running: each crash is followed by a restart after the policy's back-off.</summary>
    private async Task WatchAsync(RunningApp app)
    {
        while (true)
        {
            var exitCode = await app.Process!.Exited;
            app.ExitCode = exitCode;
            if (IsStopping())
            {
                app.Status = AppStatus.Stopped;
                return;
            }

            if (exitCode == 0)
            {
                Finish(app);
                NoteFinished();
                return;
            }

            if (_options.RestartPolicy is not { } policy)
            {
                app.Status = AppStatus.Exited;
                _options.Console.WriteLine(Loud($"== {app.Definition.AppId} exited with code {exitCode} == (log: {app.Log.FilePath})"));
                _appExited.TrySetResult(app);
                return;
            }

            if (!await RestartAsync(app, exitCode, policy))
            {
                return;
            }
        }
    }

    /// <summary>
    /// Waits the back-off, starts the app again and waits until it is healthy as at start; false when
    /// there is nothing left to watch (the run stops meanwhile, or the command no longer starts).
    /// </summary>
    private async Task<bool> RestartAsync(RunningApp app, int exitCode, AppRestartPolicy policy)
    {
        if (app.Status == AppStatus.Healthy && DateTimeOffset.UtcNow - app.HealthySince >= policy.ResetAfter)
        {
            app.RestartsInARow = 0;
        }

        app.Status = AppStatus.Restarting;
        app.Restarts++;
        app.RestartsInARow++;
        var delay = policy.DelayBefore(app.RestartsInARow);
        _options.Console.WriteLine(Loud(
            $"== {app.Definition.AppId} exited with code {exitCode}; restart {app.Restarts} in {delay.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s == (log: {app.Log.FilePath})"));
        try
        {
            await Task.Delay(delay, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            app.Status = AppStatus.Stopped;
            return false;
        }

        try
        {
            lock (_gate)
            {
                // Under the lock: once DisposeAsync has taken the processes to stop, no new one starts.
                if (_stopping)
                {
                    app.Status = AppStatus.Stopped;
                    return false;
                }

                app.Process = AppProcess.Start(app.Definition, AppEnvironment(app), app.Log);
            }
        }
        catch (RunnerException ex)
        {
            app.Status = AppStatus.Exited;
            _options.Console.WriteLine(Loud($"== {app.Definition.AppId} cannot be restarted: {ex.Message} =="));
            _appExited.TrySetResult(app);
            return false;
        }

        if (await WaitUntilHealthyAsync(app, _stop.Token) is { } problem)
        {
            if (IsStopping())
            {
                app.Status = AppStatus.Stopped;
                return false;
            }

            _options.Console.WriteLine(Loud($"== {app.Definition.AppId} did not come back: {FirstLine(problem)} =="));
            // A hung app is stopped so that its exit leads to the next, longer back-off.
            await app.Process.StopAsync(_options.StopGracePeriod);
            return true;
        }

        _options.Console.WriteLine($"== {app.Definition.AppId} is healthy again after restart {app.Restarts} ==");
        return true;
    }

    private async Task WaitUntilHealthyAsync(CancellationToken cancellationToken)
    {
        var failures = await Task.WhenAll(_apps.Select(app => WaitUntilHealthyAsync(app, cancellationToken)));
        cancellationToken.ThrowIfCancellationRequested();
        var problems = failures.OfType<string>().ToList();
        if (problems.Count > 0)
        {
            throw new RunnerException(string.Join(Environment.NewLine + Environment.NewLine, problems));
        }
    }

    private async Task<string?> WaitUntilHealthyAsync(RunningApp app, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HealthTimeout);
        try
        {
            if (await AppHealth.WaitAsync(app.Definition, app.Descriptor, app.Process, timeout.Token))
            {
                // Its children noted before it counts as healthy: a crash right after still finds them.
                app.Process?.NoteDescendants();
                app.HealthySince = DateTimeOffset.UtcNow;
                app.Status = AppStatus.Healthy;
                return null;
            }

            var exitCode = await app.Process!.Exited;
            app.ExitCode = exitCode;
            if (exitCode == 0)
            {
                Finish(app);
                return null;
            }

            app.Status = AppStatus.Exited;
            return $"App '{app.Definition.AppId}' exited with code {exitCode} before it became healthy. Its last output ({app.Log.FilePath}):{Environment.NewLine}{app.Log.Tail()}";
        }
        catch (OperationCanceledException)
        {
            var what = app.Definition.Protocol == AppChannelProtocol.Grpc
                ? "gRPC health did not answer SERVING"
                : app.Definition.AppHealthCheckPath is { } path ? $"GET {path} did not answer 2xx" : "the port did not accept connections";
            return $"App '{app.Definition.AppId}' did not become healthy within {_options.HealthTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s " +
                $"(port {app.Descriptor.AppPort}: {what}). Its last output ({app.Log.FilePath}):{Environment.NewLine}{app.Log.Tail()}";
        }
    }

    private void Finish(RunningApp app)
    {
        app.Status = AppStatus.Finished;
        _options.Console.WriteLine($"== {app.Definition.AppId} finished (exit code 0); the other apps keep running == (log: {app.Log.FilePath})");
    }

    private void NoteFinished()
    {
        var started = _apps.Where(a => a.Definition.Command.Count > 0).ToList();
        if (started.Count > 0 && started.All(a => a.Status == AppStatus.Finished))
        {
            _allFinished.TrySetResult();
        }
    }

    private static string FirstLine(string text) => text.Split(Environment.NewLine)[0];

    private bool IsStopping()
    {
        lock (_gate)
        {
            return _stopping;
        }
    }

    /// <summary>From here on, an app that ends is being stopped: neither reported nor restarted.</summary>
    private void StopWatching()
    {
        lock (_gate)
        {
            _stopping = true;
        }

        _stop.Cancel();
    }

    private string Loud(string text) => _options.Console.Colors ? $"\u001b[1;31m{text}\u001b[0m" : text;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        StopWatching();
        await _shutdownRegistration.DisposeAsync();
        await Task.WhenAll(_apps.Where(a => a.Process is not null).Select(a => a.Process!.StopAsync(_options.StopGracePeriod)));
        await Task.WhenAll(_watchers);
        foreach (var app in _apps.Where(a => a.Status is not (AppStatus.Exited or AppStatus.Finished)))
        {
            app.Status = AppStatus.Stopped;
        }

        if (_runtime is not null)
        {
            await _runtime.DisposeAsync();
        }

        foreach (var app in _apps)
        {
            app.Log.Dispose();
        }

        _loggerFactory.Dispose();
        _stop.Dispose();
    }
}
