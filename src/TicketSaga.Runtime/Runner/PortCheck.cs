using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace TicketSaga.Runtime.Runner;

/// <summary>A fixed port a run needs and what it is for, e.g. 5100 for "gateway".</summary>
public sealed record PortUse(int Port, string Purpose);

/// <summary>
/// Whether the ports a run needs are free, checked before anything starts so that a taken port is
/// one readable line instead of a bind failure deep in a server's start-up; on Linux it names the
/// listening process (from /proc/net/tcp* and the socket inodes in /proc/&lt;pid&gt;/fd).
/// </summary>
public static class PortCheck
{
    private const string ListenState = "0A";

    /// <summary>Throws a one-line <see cref="RunnerException"/> naming the first taken port and its owner.</summary>
    public static void EnsureFree(IEnumerable<PortUse> uses)
    {
        foreach (var use in uses.DistinctBy(u => u.Port))
        {
            if (!IsFree(use.Port))
            {
                throw new RunnerException($"Port {use.Port} ({use.Purpose}) is already taken by {DescribeOwner(use.Port)}; stop it or free the port, then try again.");
            }
        }
    }

    /// <summary>Free when a loopback listener can bind it, as the apps' and the sidecars' servers will.</summary>
    public static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    /// <summary>"python3 (pid 4242)" when the listener can be found, otherwise "another process".</summary>
    public static string DescribeOwner(int port)
    {
        var owner = ListeningSocketInodes(port).Select(OwnerOf).FirstOrDefault(pid => pid is not null);
        return owner is { } pid ? $"{ProcessName(pid)} (pid {pid.ToString(CultureInfo.InvariantCulture)})" : "another process";
    }

    private static HashSet<string> ListeningSocketInodes(int port)
    {
        var inodes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var table in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            foreach (var line in ReadLines(table).Skip(1))
            {
                // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
                var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (fields.Length > 9 && fields[3] == ListenState
                    && int.TryParse(fields[1][(fields[1].LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var local)
                    && local == port)
                {
                    inodes.Add(fields[9]);
                }
            }
        }

        return inodes;
    }

    private static int? OwnerOf(string inode)
    {
        var target = $"socket:[{inode}]";
        foreach (var process in SafeEnumerate(() => Directory.EnumerateDirectories("/proc")))
        {
            if (!int.TryParse(Path.GetFileName(process), out var pid))
            {
                continue;
            }

            foreach (var descriptor in SafeEnumerate(() => Directory.EnumerateFiles(Path.Combine(process, "fd"))))
            {
                if (LinkTarget(descriptor) == target)
                {
                    return pid;
                }
            }
        }

        return null;
    }

    private static string ProcessName(int pid) => ReadLines($"/proc/{pid}/comm").FirstOrDefault() is { Length: > 0 } name ? name : "a process";

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[] ReadLines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Processes come and go while /proc is read, and another user's fds are unreadable: skip those.</summary>
    private static List<string> SafeEnumerate(Func<IEnumerable<string>> entries)
    {
        try
        {
            return [.. entries()];
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
