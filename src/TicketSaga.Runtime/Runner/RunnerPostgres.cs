using System.Diagnostics;
using System.Globalization;
using Npgsql;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Postgres;

namespace TicketSaga.Runtime.Runner;

/// <summary>
/// The PostgreSQL a run uses: the connection string given, or a local cluster the runner owns and
/// keeps between runs (data survives; the port is remembered; a cluster already running is reused).
/// </summary>
public sealed class RunnerPostgres : IAsyncDisposable
{
    /// <summary>The kept cluster's port unless taken when the cluster is first created.</summary>
    public const int PreferredPort = 25432;

    /// <summary>
    /// The lowest port an OS hands to outgoing connections (Linux 32768–60999; Windows and macOS from
    /// 49152). A server's port at or above it can be held by a client connection's TIME_WAIT for a minute
    /// after a load run, and PostgreSQL then fails to start with "Address already in use".
    /// </summary>
    private const int EphemeralPortsFrom = 32768;

    private readonly LocalPostgresCluster? _startedHere;

    private RunnerPostgres(string connectionString, string description, LocalPostgresCluster? startedHere)
    {
        ConnectionString = connectionString;
        Description = description;
        _startedHere = startedHere;
    }

    public string ConnectionString { get; }

    /// <summary>What is in use, without the password, for the user.</summary>
    public string Description { get; }

    /// <param name="connectionString">From --postgres or TICKETSAGA_POSTGRES; null to use the kept local cluster.</param>
    /// <param name="stateDirectory">The runner's folder (e.g. <c>.ticketsaga</c> beside dapr.yaml).</param>
    public static async Task<RunnerPostgres> ResolveAsync(string? connectionString, string stateDirectory, CancellationToken cancellationToken = default)
    {
        if (!string.IsNullOrWhiteSpace(connectionString))
        {
            await EnsureReachableAsync(connectionString, cancellationToken);
            return new RunnerPostgres(connectionString, "given server " + Describe(connectionString), null);
        }

        if (LocalPostgresCluster.FindBinDirectory() is null)
        {
            throw new RunnerException(LocalPostgresCluster.InstallHint);
        }

        var root = KeptClusterRoot(stateDirectory);
        Directory.CreateDirectory(root);
        var cluster = await LocalPostgresCluster.StartAsync(Path.Combine(root, "data"), ephemeral: false, RememberedPort(root), cancellationToken);
        var description = $"local cluster {cluster.DataDirectory} ({Describe(cluster.ConnectionString)}{(cluster.StartedHere ? "" : ", already running")})";
        return new RunnerPostgres(cluster.ConnectionString, description, cluster.StartedHere ? cluster : null);
    }

    /// <summary>
    /// Beside the run file when the server's user can reach it; as root the server runs as
    /// <c>postgres</c>, which cannot enter e.g. /root, so the cluster then lives in /var/lib/ticketsaga.
    /// </summary>
    private static string KeptClusterRoot(string stateDirectory)
    {
        var preferred = Path.Combine(Path.GetFullPath(stateDirectory), "postgres");
        return Environment.UserName != "root" || PostgresUserCanReach(preferred) ? preferred : "/var/lib/ticketsaga/postgres";
    }

    private static bool PostgresUserCanReach(string directory)
    {
        var existing = directory;
        while (!Directory.Exists(existing))
        {
            existing = Path.GetDirectoryName(existing)!;
        }

        var probe = new ProcessStartInfo("runuser", ["-u", "postgres", "--", "test", "-x", existing]) { RedirectStandardError = true };
        using var process = Process.Start(probe);
        process?.WaitForExit();
        return process is { ExitCode: 0 };
    }

    /// <summary>The port remembered in the kept cluster's folder; a new one when none is, or when it is one outgoing connections may take.</summary>
    internal static int RememberedPort(string root)
    {
        var file = Path.Combine(root, "port");
        if (File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), CultureInfo.InvariantCulture, out var remembered)
            && remembered < EphemeralPortsFrom)
        {
            return remembered;
        }

        var port = PortCheck.IsFree(PreferredPort) ? PreferredPort : PortAllocator.FreePort();
        File.WriteAllText(file, port.ToString(CultureInfo.InvariantCulture));
        return port;
    }

    private static async Task EnsureReachableAsync(string connectionString, CancellationToken cancellationToken)
    {
        try
        {
            // Npgsql's default: a refused connection fails at once anyway, and a busy server can take
            // more than 5 s to start a backend (seen on a CI machine at load average 30).
            var builder = new NpgsqlConnectionStringBuilder(connectionString) { Timeout = 15 };
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is NpgsqlException or ArgumentException or TimeoutException)
        {
            throw new RunnerException($"Cannot connect to PostgreSQL at {Describe(connectionString)}: {ex.Message}", ex);
        }
    }

    private static string Describe(string connectionString)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(connectionString);
            return $"{builder.Username}@{builder.Host}:{builder.Port}";
        }
        catch (ArgumentException)
        {
            return "(unreadable connection string)";
        }
    }

    /// <summary>Stops the local cluster if this run started it; a reused or given server is left alone.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_startedHere is not null)
        {
            await _startedHere.DisposeAsync();
        }
    }
}
