using System.Diagnostics;
using System.Runtime.InteropServices;

namespace TicketSaga.Runtime.Runner;

/// <summary>
/// A process and everything it started (e.g. <c>dotnet run</c> and the app it launches): asked to
/// stop with SIGTERM first, killed when it does not within the grace period.
/// </summary>
internal static partial class ProcessTree
{
    private const int SigTerm = 15;

    public static async Task StopAsync(Process root, TimeSpan grace)
    {
        var members = Members(root.Id);
        if (OperatingSystem.IsWindows())
        {
            root.Kill(entireProcessTree: true);
        }
        else
        {
            foreach (var pid in members)
            {
                _ = NativeMethods.kill(pid, SigTerm);
            }
        }

        using var timeout = new CancellationTokenSource(grace);
        try
        {
            await root.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            KillQuietly(root);
        }

        // Children that outlived their parent would otherwise be orphans holding ports.
        foreach (var pid in members.Where(pid => pid != root.Id))
        {
            try
            {
                using var child = Process.GetProcessById(pid);
                if (!child.WaitForExit(TimeSpan.FromSeconds(1)))
                {
                    KillQuietly(child);
                }
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        await root.WaitForExitAsync(CancellationToken.None);
    }

    /// <summary>The root's descendants now, each with its start time so that a reused pid is not mistaken for it later.</summary>
    public static List<(int Pid, long StartTime)> Descendants(int rootPid)
    {
        var result = new List<(int Pid, long StartTime)>();
        foreach (var pid in Members(rootPid).Skip(1))
        {
            if (StartTimeOf(pid) is { } startTime)
            {
                result.Add((pid, startTime));
            }
        }

        return result;
    }

    /// <summary>
    /// Kills what is still alive of <paramref name="descendants"/> after their root died without
    /// stopping them (e.g. the app under `dotnet run` when `dotnet run` was SIGKILLed): orphans would
    /// hold the ports the restarted app needs.
    /// </summary>
    public static void KillSurvivors(IEnumerable<(int Pid, long StartTime)> descendants)
    {
        foreach (var (pid, startTime) in descendants)
        {
            if (StartTimeOf(pid) != startTime)
            {
                continue;
            }

            try
            {
                using var survivor = Process.GetProcessById(pid);
                KillQuietly(survivor);
                survivor.WaitForExit(TimeSpan.FromSeconds(5));
            }
            catch (ArgumentException)
            {
                // Gone meanwhile.
            }
        }
    }

    private static void KillQuietly(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // Exited meanwhile.
        }
    }

    /// <summary>The root and its descendants, read from /proc (parents first); just the root elsewhere.</summary>
    public static List<int> Members(int rootPid)
    {
        var result = new List<int> { rootPid };
        if (!Directory.Exists("/proc"))
        {
            return result;
        }

        var children = new Dictionary<int, List<int>>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (int.TryParse(Path.GetFileName(dir), out var pid) && ParentOf(dir) is { } parent)
            {
                (children.TryGetValue(parent, out var list) ? list : children[parent] = []).Add(pid);
            }
        }

        for (var i = 0; i < result.Count; i++)
        {
            result.AddRange(children.GetValueOrDefault(result[i]) ?? []);
        }

        return result;
    }

    private static int? ParentOf(string procDirectory) => StatField(procDirectory, 1) is { } parent ? (int)parent : null;

    /// <summary>Clock ticks after boot at which the process started (field 22 of /proc/&lt;pid&gt;/stat).</summary>
    private static long? StartTimeOf(int pid) => StatField($"/proc/{pid}", 19);

    /// <summary>A numeric field of /proc/&lt;pid&gt;/stat, counted from the one after the command name (0: state, 1: ppid ...).</summary>
    private static long? StatField(string procDirectory, int index)
    {
        try
        {
            // The command name is parenthesised and may hold spaces: count from its closing parenthesis.
            var stat = File.ReadAllText(Path.Combine(procDirectory, "stat"));
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[index], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
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
