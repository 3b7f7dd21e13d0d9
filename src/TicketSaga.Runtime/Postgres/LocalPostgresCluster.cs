using System.Diagnostics;
using System.Security.Cryptography;
using Npgsql;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Postgres;

/// <summary>
/// A PostgreSQL cluster started from the installed server binaries, for machines without Docker.
/// Works as root too: initdb and postgres refuse root, so they run as the <c>postgres</c> system user.
/// Logins over TCP need the superuser's password, made at initdb and kept in the data directory
/// readable by its owner only (<see cref="PasswordFile"/>): other users of the machine cannot log in
/// (a cluster made before that keeps trusting local connections).
/// </summary>
public sealed class LocalPostgresCluster : IAsyncDisposable
{
    private readonly string _binDirectory;
    private readonly string? _runAsUser;
    private readonly bool _ephemeral;

    private LocalPostgresCluster(string binDirectory, string dataDirectory, int port, string? runAsUser, bool ephemeral)
    {
        _binDirectory = binDirectory;
        DataDirectory = dataDirectory;
        Port = port;
        _runAsUser = runAsUser;
        _ephemeral = ephemeral;
    }

    /// <summary>The superuser's password, beside the data it guards.</summary>
    private const string PasswordFile = "ticketsaga-password";

    public string DataDirectory { get; }

    public int Port { get; }

    public string ConnectionString => Connection(Port, ReadPassword(DataDirectory)).ConnectionString;

    private static NpgsqlConnectionStringBuilder Connection(int port, string? password) => new()
    {
        Host = "127.0.0.1",
        Port = port,
        Username = "postgres",
        Password = password,
        Database = "postgres",
        MaxPoolSize = 200,
    };

    private static string? ReadPassword(string dataDirectory)
    {
        var path = Path.Combine(dataDirectory, PasswordFile);
        return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
    }

    /// <summary>The newest installed server's bin folder, or null when none is installed.</summary>
    public static string? FindBinDirectory()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("TICKETSAGA_PG_BIN");
        if (!string.IsNullOrWhiteSpace(fromEnvironment) && File.Exists(Path.Combine(fromEnvironment, "initdb")))
        {
            return fromEnvironment;
        }

        const string debianRoot = "/usr/lib/postgresql";
        if (Directory.Exists(debianRoot))
        {
            var newest = Directory.GetDirectories(debianRoot)
                .Select(dir => (dir, version: int.TryParse(Path.GetFileName(dir), out var v) ? v : 0))
                .Where(x => File.Exists(Path.Combine(x.dir, "bin", "initdb")))
                .OrderByDescending(x => x.version)
                .Select(x => Path.Combine(x.dir, "bin"))
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        return (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .FirstOrDefault(dir => File.Exists(Path.Combine(dir, "initdb")) && File.Exists(Path.Combine(dir, "pg_ctl")));
    }

    public const string InstallHint =
        "PostgreSQL server binaries (initdb, pg_ctl) were not found. Install them (Debian/Ubuntu: " +
        "`apt-get install postgresql`), set TICKETSAGA_PG_BIN to their folder, or pass a connection string.";

    /// <summary>
    /// Starts a cluster in <paramref name="dataDirectory"/>, creating it on first use. An ephemeral
    /// cluster trades durability for speed (no fsync) and is deleted on dispose; a kept one survives.
    /// </summary>
    public static async Task<LocalPostgresCluster> StartAsync(
        string dataDirectory, bool ephemeral, int? port = null, CancellationToken cancellationToken = default)
    {
        var bin = FindBinDirectory() ?? throw new InvalidOperationException(InstallHint);
        var runAs = Environment.UserName == "root" ? "postgres" : null;
        var fullPath = Path.GetFullPath(dataDirectory);
        if (!ephemeral && await RunningServerPortAsync(fullPath, cancellationToken) is { } runningPort)
        {
            return new LocalPostgresCluster(bin, fullPath, runningPort, runAs, ephemeral);
        }

        var cluster = new LocalPostgresCluster(bin, fullPath, port ?? PortAllocator.FreePort(), runAs, ephemeral);
        await cluster.InitializeAsync(cancellationToken);
        cluster.RemoveStaleLockFiles();
        await cluster.StartServerAsync(cancellationToken);
        cluster.StartedHere = true;
        return cluster;
    }

    /// <summary>False when a server already running on this data directory was reused.</summary>
    public bool StartedHere { get; private set; }

    /// <summary>
    /// The port of a server already running on <paramref name="dataDirectory"/>, so a kept cluster is
    /// reused instead of started twice: the one named in postmaster.pid, if it answers there and
    /// serves this very data directory.
    /// </summary>
    private static async Task<int?> RunningServerPortAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        string[] lockFile;
        try
        {
            lockFile = await File.ReadAllLinesAsync(Path.Combine(dataDirectory, "postmaster.pid"), cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        if (lockFile.Length < 4 || !int.TryParse(lockFile[3], out var port))
        {
            return null;
        }

        var probe = Connection(port, ReadPassword(dataDirectory));
        probe.Pooling = false;
        probe.Timeout = 3;
        var connectionString = probe.ConnectionString;
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("SHOW data_directory", connection);
            var served = (string?)await command.ExecuteScalarAsync(cancellationToken);
            return served is not null && Path.GetFullPath(served) == dataDirectory ? port : null;
        }
        catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
        {
            return null;
        }
    }

    /// <summary>
    /// No server runs on this data directory (checked just before), so lock files left by a crash or
    /// a reboot are stale. Postgres would refuse to start if their PID now belongs to another process
    /// of its user (e.g. the system cluster's), so they go.
    /// </summary>
    private void RemoveStaleLockFiles()
    {
        foreach (var lockFile in Directory.EnumerateFiles(DataDirectory, ".s.PGSQL.*.lock").Append(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            File.Delete(lockFile);
        }
    }

    private async Task InitializeAsync(CancellationToken cancellationToken)
    {
        if (File.Exists(Path.Combine(DataDirectory, "PG_VERSION")))
        {
            return;
        }

        Directory.CreateDirectory(DataDirectory);
        await GiveToServerUserAsync(DataDirectory, cancellationToken);
        var password = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        // initdb reads the password from a file the server's user can read, gone right after.
        var passwordFile = Path.Combine(Path.GetTempPath(), $"ticketsaga-initdb-{Guid.NewGuid():N}");
        await WriteOwnerOnlyAsync(passwordFile, password, cancellationToken);
        try
        {
            await GiveToServerUserAsync(passwordFile, cancellationToken);
            await RunAsync("initdb", ["-D", DataDirectory, "-U", "postgres", "--auth-host=scram-sha-256", "--auth-local=peer", "--pwfile", passwordFile,
                "-E", "UTF8", "--no-instructions"], cancellationToken);
        }
        finally
        {
            File.Delete(passwordFile);
        }

        await WriteOwnerOnlyAsync(Path.Combine(DataDirectory, PasswordFile), password, cancellationToken);

        var settings = new List<string>
        {
            "listen_addresses = '127.0.0.1'",
            "max_connections = 300",
            "shared_buffers = 256MB",
            $"unix_socket_directories = '{DataDirectory}'",
        };
        if (_ephemeral)
        {
            settings.AddRange(["fsync = off", "synchronous_commit = off", "full_page_writes = off"]);
        }

        await File.AppendAllLinesAsync(Path.Combine(DataDirectory, "postgresql.conf"), settings, cancellationToken);
    }

    /// <summary>Created readable by its owner only, never looser for a moment.</summary>
    private static async Task WriteOwnerOnlyAsync(string path, string text, CancellationToken cancellationToken)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using var file = new FileStream(path, options);
        await file.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text), cancellationToken);
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        var log = Path.Combine(DataDirectory, "server.log");
        await RunAsync("pg_ctl", ["-D", DataDirectory, "-l", log, "-o", $"-p {Port}", "-w", "-t", "60", "start"], cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"], CancellationToken.None);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }

        if (_ephemeral)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A leftover temp folder is harmless.
            }
        }
    }

    private async Task GiveToServerUserAsync(string directory, CancellationToken cancellationToken)
    {
        if (_runAsUser is null)
        {
            return;
        }

        await RunProcessAsync("chown", ["-R", $"{_runAsUser}:", directory], cancellationToken);
    }

    private Task RunAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_binDirectory, tool);
        return _runAsUser is null
            ? RunProcessAsync(path, arguments, cancellationToken)
            : RunProcessAsync("runuser", ["-u", _runAsUser, "--", path, .. arguments], cancellationToken);
    }

    private static async Task RunProcessAsync(string fileName, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {fileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(fileName)} {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}{await output}");
        }
    }
}
