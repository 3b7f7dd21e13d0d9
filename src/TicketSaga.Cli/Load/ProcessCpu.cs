namespace TicketSaga.Cli.Load;

/// <summary>CPU milliseconds (user + system) per process name, summed over a process tree at one moment.</summary>
internal sealed record CpuSample(IReadOnlyDictionary<string, double> MsByProcess)
{
    public static readonly CpuSample None = new(new Dictionary<string, double>());

    /// <summary>What each process spent between <paramref name="before"/> and this sample.</summary>
    public CpuSample Since(CpuSample before) => new(MsByProcess.ToDictionary(
        p => p.Key, p => Math.Max(0, p.Value - before.MsByProcess.GetValueOrDefault(p.Key))));

    public double TotalMs => MsByProcess.Values.Sum();

    public double PostgresMs => MsByProcess.GetValueOrDefault(ProcessCpu.Postgres);

    /// <summary>Everything but PostgreSQL: TicketSaga's own processes.</summary>
    public double TicketSagaMs => TotalMs - PostgresMs;
}

/// <summary>
/// CPU time of the system under test while it answered, from /proc: all of TicketSaga's processes
/// (the runtime with the sidecars, the apps) and PostgreSQL apart. The rush's time is split into
/// sold-out answers, priced by a probe of sold-out answers alone, and reserved orders (the rest).
/// </summary>
/// <param name="RushByProcessMs">What each process spent during the rush (reserves, payments, sold-out answers).</param>
/// <param name="ProbeSoldOutAnswers">Sold-out answers of the probe after the rush; 0 when the sale did not sell out.</param>
/// <param name="ProbeByProcessMs">What each process spent during the probe.</param>
internal sealed record CpuUse(
    bool Measured,
    IReadOnlyDictionary<string, double> RushByProcessMs,
    double RushMs,
    double RushPostgresMs,
    int ProbeSoldOutAnswers,
    IReadOnlyDictionary<string, double> ProbeByProcessMs,
    double PerSoldOutMs,
    double PerSoldOutWithPostgresMs,
    double PerReservedMs,
    double PerReservedWithPostgresMs)
{
    public static CpuUse Of(bool measured, CpuSample rush, int reserved, int soldOut, CpuSample probe, int probeSoldOut)
    {
        double PerSoldOut(double ms) => probeSoldOut > 0 ? ms / probeSoldOut : 0;
        var perSoldOut = PerSoldOut(probe.TicketSagaMs);
        var perSoldOutAll = PerSoldOut(probe.TotalMs);
        double PerReserved(double ms, double soldOutMs) => reserved > 0 ? Math.Max(0, ms - (soldOut * soldOutMs)) / reserved : 0;
        return new CpuUse(
            measured,
            new SortedDictionary<string, double>(rush.MsByProcess.ToDictionary()),
            Math.Round(rush.TicketSagaMs),
            Math.Round(rush.PostgresMs),
            probeSoldOut,
            new SortedDictionary<string, double>(probe.MsByProcess.ToDictionary()),
            Math.Round(perSoldOut, 3),
            Math.Round(perSoldOutAll, 3),
            Math.Round(PerReserved(rush.TicketSagaMs, perSoldOut), 3),
            Math.Round(PerReserved(rush.TotalMs, perSoldOutAll), 3));
    }
}

/// <summary>
/// Reads utime + stime of a running `ticketsaga up` and everything it started (the apps under
/// `dotnet run`, its own PostgreSQL cluster, else every PostgreSQL process of this machine) from /proc. A process that ended is not lost: once its
/// parent has waited for it, its time is in the parent's cutime + cstime, which this adds too, so the
/// tree's total only grows.
/// </summary>
internal static class ProcessCpu
{
    public const string Postgres = "postgresql";
    public const string Runtime = "runtime and sidecars (ticketsaga up)";

    /// <summary>USER_HZ: the unit of /proc/&lt;pid&gt;/stat times, 100 on every Linux the tool runs on.</summary>
    private const double MsPerTick = 10;

    public static bool Available => OperatingSystem.IsLinux() && Directory.Exists("/proc");

    /// <summary>
    /// The `ticketsaga up` process running in <paramref name="repository"/> (its working directory is
    /// there): on a shared machine another worktree's `up` must not be counted.
    /// </summary>
    public static int? FindUp(string repository)
    {
        if (!Available)
        {
            return null;
        }

        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(repository));
        var candidates = new List<(int Pid, long Started)>();
        foreach (var pid in Pids().Where(pid => pid != Environment.ProcessId))
        {
            var args = CommandLine(pid);
            var isUp = args.Any(a => Path.GetFileName(a) is "ticketsaga" or "ticketsaga.dll") && args.Contains("up");
            if (isUp && WorkingDirectory(pid) is { } cwd
                && (cwd == root || cwd.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
                && Stat(pid) is { } stat)
            {
                candidates.Add((pid, stat.StartTime));
            }
        }

        return candidates.Count == 0 ? null : candidates.MaxBy(c => c.Started).Pid;
    }

    /// <summary>
    /// Waits until the tree spends less than a twentieth of one core over half a second (background
    /// work of a rush done), or <paramref name="atMost"/> has passed.
    /// </summary>
    public static async Task WaitForQuietAsync(int rootPid, TimeSpan atMost, CancellationToken cancellationToken)
    {
        var window = TimeSpan.FromMilliseconds(500);
        var giveUpAt = DateTime.UtcNow + atMost;
        var last = Sample(rootPid);
        while (DateTime.UtcNow < giveUpAt)
        {
            await Task.Delay(window, cancellationToken);
            var now = Sample(rootPid);
            if (now.Since(last).TicketSagaMs < window.TotalMilliseconds / 20)
            {
                return;
            }

            last = now;
        }
    }

    public static CpuSample Sample(int? rootPid)
    {
        if (rootPid is not { } root || !Available)
        {
            return CpuSample.None;
        }

        var stats = Pids().Select(pid => (Pid: pid, Stat: Stat(pid))).Where(p => p.Stat is not null).ToDictionary(p => p.Pid, p => p.Stat!.Value);
        var children = stats.ToLookup(p => p.Value.Parent, p => p.Key);
        var byName = new Dictionary<string, double>();
        var pending = new Stack<int>([root]);
        while (pending.TryPop(out var pid))
        {
            if (!stats.TryGetValue(pid, out var stat))
            {
                continue;
            }

            var name = pid == root ? Runtime : NameOf(pid, stat.Command);
            byName[name] = byName.GetValueOrDefault(name) + (stat.Ticks * MsPerTick);
            foreach (var child in children[pid])
            {
                pending.Push(child);
            }
        }

        return new CpuSample(byName);
    }

    /// <summary>
    /// The system under test: <paramref name="upPid"/>'s tree, and when `up` runs against a server
    /// (--postgres) rather than a cluster of its own, every PostgreSQL process of this machine: they are
    /// not up's children, but their work is the system's.
    /// </summary>
    public static CpuSample SampleSystem(int? upPid)
    {
        var tree = Sample(upPid);
        if (upPid is null || tree.MsByProcess.ContainsKey(Postgres))
        {
            return tree;
        }

        var postgres = Pids().Select(Stat).Where(stat => stat?.Command is "postgres" or "postmaster").Sum(stat => stat!.Value.Ticks * MsPerTick);
        return postgres > 0 ? new CpuSample(new Dictionary<string, double>(tree.MsByProcess) { [Postgres] = postgres }) : tree;
    }

    /// <summary>A process by what it runs: PostgreSQL, the app's assembly or executable (ticket-service is TicketService).</summary>
    private static string NameOf(int pid, string command)
    {
        if (command is "postgres" or "postmaster")
        {
            return Postgres;
        }

        var args = CommandLine(pid);
        if (args.FirstOrDefault(a => a.EndsWith(".dll", StringComparison.Ordinal)) is { } assembly)
        {
            return Path.GetFileNameWithoutExtension(assembly);
        }

        // `dotnet run` itself: starting the app is its work, named after the app it starts.
        return args.Length > 0 && Path.GetFileName(args[0]) == "dotnet" ? "dotnet run" : Path.GetFileName(args.FirstOrDefault() ?? command);
    }

    private readonly record struct ProcStat(string Command, int Parent, long Ticks, long StartTime);

    /// <summary>Fields of /proc/&lt;pid&gt;/stat: after "(comm)": state ppid … utime(14) stime(15) cutime(16) cstime(17) … starttime(22).</summary>
    private static ProcStat? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            var fields = stat[(close + 2)..].Split(' ');
            long Field(int number) => long.Parse(fields[number - 3], System.Globalization.CultureInfo.InvariantCulture);
            return new ProcStat(stat[(open + 1)..close], (int)Field(4), Field(14) + Field(15) + Field(16) + Field(17), Field(22));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException)
        {
            return null;
        }
    }

    private static string[] CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Split('\0', StringSplitOptions.RemoveEmptyEntries);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static string? WorkingDirectory(int pid)
    {
        try
        {
            return new DirectoryInfo($"/proc/{pid}/cwd").ResolveLinkTarget(returnFinalTarget: false)?.FullName;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static IEnumerable<int> Pids() =>
        Directory.EnumerateDirectories("/proc").Select(Path.GetFileName).Select(name => int.TryParse(name, out var pid) ? pid : 0).Where(pid => pid > 0);
}
