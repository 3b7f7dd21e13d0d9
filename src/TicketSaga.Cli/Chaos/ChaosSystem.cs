using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using TicketSaga.Cli.Commands;
using TicketSaga.Runtime.Runner;
using TicketSaga.StripeStub;

namespace TicketSaga.Cli.Chaos;

/// <summary>
/// The system a chaos run attacks, as separate processes it can SIGKILL: the Stripe stub (its own
/// process with a journal) and `ticketsaga up` (the embedded runtime with every sidecar, and the apps
/// as its children). Killing an app kills the app's own process (the runner restarts it); killing the
/// runtime kills the `up` process and then its orphaned apps (they lost their sidecars, as a pod loses
/// its containers with its node) and starts `up` again; killing the stub kills and restarts it.
/// </summary>
internal sealed partial class ChaosSystem : IAsyncDisposable
{
    private const int SigKill = 9;
    private const int SigTerm = 15;

    /// <summary>The apps `up` starts, by the folder they run in.</summary>
    public static readonly IReadOnlyDictionary<string, string> AppFolders = new Dictionary<string, string>
    {
        ["gateway"] = "Gateway",
        ["ticket-service"] = "TicketService",
        ["venue-service"] = "VenueService",
        ["order-service"] = "OrderService",
        ["payment-service"] = "PaymentService",
        ["expiration-service"] = "ExpirationService",
    };

    private readonly string _runFile;
    private readonly (string Command, string[] Prefix) _cli;
    private readonly IReadOnlyList<string> _upArguments;
    private readonly StripeStubOptions _stripe;
    private readonly string _logFolder;
    private Process? _stub;
    private Process? _up;
    private int _upStarts;

    /// <param name="upOptions">More options for `up`, e.g. --retention for a soak.</param>
    /// <param name="cli">The `ticketsaga` executable that runs `up`; default: this process's own CLI.</param>
    /// <param name="stripeRetention">How long the Stripe stub keeps idempotency keys and events in memory; default 24 h and 5 min.</param>
    public ChaosSystem(
        string runFile, string postgres, TimeSpan hold, IReadOnlyList<string> upOptions, string stateFolder, string? cli = null, TimeSpan? stripeRetention = null)
    {
        _runFile = runFile;
        _cli = cli is null ? SelfCommand() : (cli, []);
        _logFolder = Path.Combine(stateFolder, "logs");
        Directory.CreateDirectory(_logFolder);
        _stripe = new StripeStubOptions
        {
            Port = StripeStubOptions.DefaultPort,
            ApiKey = StripeStubOptions.NewApiKey(),
            WebhookSecret = StripeStubOptions.NewWebhookSecret(),
            WebhookUrl = new Uri("http://127.0.0.1:5100/payments/webhook"),
            JournalPath = Path.Combine(stateFolder, "stripe-journal.jsonl"),
        };
        _stripe = stripeRetention is { } retention ? _stripe with { IdempotencyKeyRetention = retention, EventHistory = retention } : _stripe;
        _upArguments = ["up", "--no-build", "--health-timeout", "600", "--hold", $"{hold.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s", "--postgres", postgres,
            .. upOptions];
    }

    public string StripeJournal => _stripe.JournalPath!;

    public string StripeApiBase => $"http://127.0.0.1:{_stripe.Port}";

    public string StripeApiKey => _stripe.ApiKey;

    /// <summary>Runs this CLI with the arguments (e.g. `load flash-sale`) beside the system and returns its exit code and standard output.</summary>
    public async Task<(int ExitCode, string Output)> RunCliAsync(IReadOnlyList<string> arguments, string logName, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(_cli.Command, [.. _cli.Prefix, .. arguments])
        {
            WorkingDirectory = Path.GetDirectoryName(_runFile)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(_logFolder, logName + ".log"), await errors, cancellationToken);
        return (process.ExitCode, await output);
    }

    /// <summary>Starts the stub, then `up`, and waits until `up` has seeded and written its session (every app healthy).</summary>
    public async Task<UpSession> StartAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        StartStub();
        return await StartUpAsync(timeout, cancellationToken);
    }

    public void KillStub()
    {
        Kill(_stub!.Id);
        _stub.WaitForExit();
        _stub.Dispose();
    }

    /// <summary>Starts the stub and waits until it listens: a port still taken (e.g. by another program) is tried again, then fails here, not in a payment later.</summary>
    public void StartStub()
    {
        for (var attempt = 1; attempt <= 20; attempt++)
        {
            RunStub();
            for (var wait = 0; wait < 300 && !_stub!.HasExited; wait++)
            {
                if (!PortCheck.IsFree(_stripe.Port))
                {
                    // Taken: by the stub unless it exits right after, failing to bind.
                    Thread.Sleep(300);
                    if (!_stub.HasExited)
                    {
                        return;
                    }
                }

                Thread.Sleep(100);
            }

            Thread.Sleep(500);
        }

        throw new InvalidOperationException($"The Stripe stub did not start on port {_stripe.Port}; see {Path.Combine(_logFolder, "stripe-stub.log")}");
    }

    private void RunStub()
    {
        _stub?.Dispose();
        _stub = Process.Start(Launch(Path.Combine(AppContext.BaseDirectory, "TicketSaga.StripeStub" + (OperatingSystem.IsWindows() ? ".exe" : "")),
        [
            $"--StripeStub:Port={_stripe.Port}", $"--StripeStub:WebhookUrl={_stripe.WebhookUrl}", $"--StripeStub:JournalPath={_stripe.JournalPath}",
            $"--StripeStub:IdempotencyKeyRetention={_stripe.IdempotencyKeyRetention.ToString("c", CultureInfo.InvariantCulture)}",
            $"--StripeStub:EventHistory={_stripe.EventHistory.ToString("c", CultureInfo.InvariantCulture)}",
        ], "stripe-stub", new Dictionary<string, string>
        {
            // In the environment, not the command line, which every local user can read (ps).
            ["StripeStub__ApiKey"] = _stripe.ApiKey,
            ["StripeStub__WebhookSecret"] = _stripe.WebhookSecret,
            // As dapr.yaml gives the apps: workstation GC and two malloc arenas, a footprint that stays flat.
            ["DOTNET_gcServer"] = "0",
            ["MALLOC_ARENA_MAX"] = "2",
        }))!;
    }

    /// <summary>SIGKILLs the app's own process (the deepest of what `dotnet run` started); `up` restarts it with back-off.</summary>
    public bool KillApp(string appId)
    {
        var folder = $"{Path.DirectorySeparatorChar}src{Path.DirectorySeparatorChar}{AppFolders[appId]}";
        foreach (var child in Children(_up!.Id))
        {
            if (WorkingDirectory(child)?.EndsWith(folder, StringComparison.Ordinal) == true)
            {
                var members = ProcessMembers(child);
                Kill(members[^1]);
                return true;
            }
        }

        return false;
    }

    /// <summary>SIGKILLs `up` (the runtime and every sidecar), then its orphaned apps, and starts it again.</summary>
    public async Task<UpSession> KillAndRestartRuntimeAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var members = ProcessMembers(_up!.Id);
        foreach (var pid in members)
        {
            Kill(pid);
        }

        await _up.WaitForExitAsync(cancellationToken);
        _up.Dispose();
        foreach (var pid in members.Skip(1))
        {
            await WaitGoneAsync(pid, cancellationToken);
        }

        return await StartUpAsync(timeout, cancellationToken);
    }

    /// <summary>Resident set sizes (kB) of `up` and each app process now, from /proc.</summary>
    public IReadOnlyDictionary<string, long> ResidentKilobytes()
    {
        var result = new Dictionary<string, long>();
        if (_up is null)
        {
            return result;
        }

        result["runtime (up)"] = Rss(_up.Id);
        foreach (var child in Children(_up.Id))
        {
            var app = AppFolders.FirstOrDefault(a => WorkingDirectory(child)?.EndsWith($"{Path.DirectorySeparatorChar}{a.Value}", StringComparison.Ordinal) == true).Key;
            if (app is not null)
            {
                result[app] = Rss(ProcessMembers(child)[^1]);
            }
        }

        if (_stub is { HasExited: false })
        {
            result["stripe-stub"] = Rss(_stub.Id);
        }

        return result;
    }

    private async Task<UpSession> StartUpAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        UpSession.Delete(_runFile);
        var environment = new Dictionary<string, string>
        {
            ["Stripe__ApiKey"] = _stripe.ApiKey,
            ["Stripe__WebhookSecret"] = _stripe.WebhookSecret,
            ["Stripe__ApiBase"] = StripeApiBase,
            ["NO_COLOR"] = "1",
        };
        _up = Process.Start(Launch(_cli.Command, [.. _cli.Prefix, .. _upArguments], $"up-{++_upStarts}", environment))!;
        var deadline = DateTimeOffset.UtcNow + timeout;
        UpSession? session;
        while ((session = ReadSession()) is null)
        {
            if (_up.HasExited)
            {
                throw new InvalidOperationException($"`ticketsaga up` exited with {_up.ExitCode} during start; see {Path.Combine(_logFolder, $"up-{_upStarts}.log")}");
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"`ticketsaga up` was not ready within {timeout.TotalSeconds:0} s; see {Path.Combine(_logFolder, $"up-{_upStarts}.log")}");
            }

            await Task.Delay(500, cancellationToken);
        }

        return session;
    }

    /// <summary>The session `up` writes once every app is healthy; none while it is still being written.</summary>
    private UpSession? ReadSession()
    {
        try
        {
            return UpSession.Read(_runFile);
        }
        catch (Exception ex) when (ex is IOException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private ProcessStartInfo Launch(string command, IEnumerable<string> arguments, string logName, Dictionary<string, string> environment)
    {
        var log = Path.Combine(_logFolder, logName + ".log");
        // The shell redirects: the child keeps writing after this process stops reading, and a kill loses nothing.
        var info = new ProcessStartInfo("/bin/sh", ["-c", "exec \"$0\" \"$@\" >>" + Quote(log) + " 2>&1", command, .. arguments])
        {
            WorkingDirectory = Path.GetDirectoryName(_runFile)!,
            UseShellExecute = false,
        };
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return info;
    }

    private static string Quote(string path) => "'" + path.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>This CLI again: its apphost, or `dotnet ticketsaga.dll` when it runs under dotnet.</summary>
    private static (string Command, string[] Prefix) SelfCommand()
    {
        var path = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(path) == "dotnet"
            ? (path, [System.Reflection.Assembly.GetEntryAssembly()!.Location])
            : (path, []);
    }

    public async ValueTask DisposeAsync()
    {
        if (_up is { HasExited: false })
        {
            _ = NativeMethods.kill(_up.Id, SigTerm);
            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _up.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                foreach (var pid in ProcessMembers(_up.Id))
                {
                    Kill(pid);
                }
            }
        }

        if (_stub is { HasExited: false })
        {
            _ = NativeMethods.kill(_stub.Id, SigTerm);
            await _stub.WaitForExitAsync();
        }

        _up?.Dispose();
        _stub?.Dispose();
    }

    private static void Kill(int pid) => _ = NativeMethods.kill(pid, SigKill);

    private static async Task WaitGoneAsync(int pid, CancellationToken cancellationToken)
    {
        for (var i = 0; i < 100 && Directory.Exists($"/proc/{pid}") && StatField(pid, 0) != "Z"; i++)
        {
            await Task.Delay(100, cancellationToken);
        }
    }

    private static List<int> Children(int pid) => ProcessMembers(pid).Where(p => StatField(p, 1) == pid.ToString(CultureInfo.InvariantCulture)).ToList();

    /// <summary>The process and its descendants from /proc, parents first.</summary>
    private static List<int> ProcessMembers(int root)
    {
        var parents = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && int.TryParse(StatField(pid, 1), out var parent))
            {
                (parents.TryGetValue(parent, out var list) ? list : parents[parent] = []).Add(pid);
            }
        }

        var members = new List<int> { root };
        for (var i = 0; i < members.Count; i++)
        {
            members.AddRange(parents.GetValueOrDefault(members[i]) ?? []);
        }

        return members;
    }

    private static string? WorkingDirectory(int pid)
    {
        try
        {
            return new DirectoryInfo($"/proc/{pid}/cwd").LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static long Rss(int pid)
    {
        try
        {
            var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return 0;
        }
    }

    /// <summary>A field of /proc/&lt;pid&gt;/stat counted after the command name (0: state, 1: ppid).</summary>
    private static string? StatField(int pid, int index)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[index];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static partial class NativeMethods
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);
    }
}
