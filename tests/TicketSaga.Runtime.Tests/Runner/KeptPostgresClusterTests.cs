using Npgsql;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Postgres;

namespace TicketSaga.Runtime.Tests.Runner;

public sealed class KeptPostgresClusterTests : IDisposable
{
    // Not a 0700 temp folder: as root the server runs as `postgres`, which must be able to enter it.
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "ticketsaga-kept-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task A_kept_cluster_is_reused_while_running_and_keeps_its_data_across_a_crash_with_a_stale_lock_file()
    {
        Assert.SkipWhen(LocalPostgresCluster.FindBinDirectory() is null, LocalPostgresCluster.InstallHint);
        var port = PortAllocator.FreePort();
        var first = await LocalPostgresCluster.StartAsync(_folder, ephemeral: false, port, TestContext.Current.CancellationToken);
        Assert.True(first.StartedHere);
        await ExecuteAsync(first.ConnectionString, "CREATE TABLE kept (id int); INSERT INTO kept VALUES (42)");

        var second = await LocalPostgresCluster.StartAsync(_folder, ephemeral: false, PortAllocator.FreePort(), TestContext.Current.CancellationToken);
        Assert.False(second.StartedHere);
        Assert.Equal(port, second.Port);

        await first.DisposeAsync();
        // What a crash leaves behind when, after a reboot, the old PID belongs to another process of the
        // server's user: postgres itself would then refuse to start.
        using var pidThief = StartAsServerUser("sleep 60");
        var stalePid = (await pidThief.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken))!;
        await File.WriteAllLinesAsync(Path.Combine(_folder, "postmaster.pid"), [stalePid, _folder, "0", port.ToString(), _folder, "127.0.0.1"], TestContext.Current.CancellationToken);

        var restarted = await LocalPostgresCluster.StartAsync(_folder, ephemeral: false, port, TestContext.Current.CancellationToken);
        await using (restarted)
        {
            Assert.True(restarted.StartedHere);
            Assert.Equal(42, await ExecuteAsync(restarted.ConnectionString, "SELECT id FROM kept"));
        }

        pidThief.Kill(entireProcessTree: true);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public async Task Only_a_login_with_the_clusters_own_password_is_let_in_and_the_password_is_its_owners_alone()
    {
        Assert.SkipWhen(LocalPostgresCluster.FindBinDirectory() is null, LocalPostgresCluster.InstallHint);
        await using var cluster = await LocalPostgresCluster.StartAsync(_folder, ephemeral: true, PortAllocator.FreePort(), TestContext.Current.CancellationToken);
        var withoutPassword = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Password = null }.ConnectionString;
        var wrongPassword = new NpgsqlConnectionStringBuilder(cluster.ConnectionString) { Password = "postgres" }.ConnectionString;

        Assert.Equal(1, await ExecuteAsync(cluster.ConnectionString, "SELECT 1"));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ExecuteAsync(withoutPassword, "SELECT 1"));
        var refused = await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(wrongPassword, "SELECT 1"));
        Assert.Equal("28P01", refused.SqlState);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_folder, "ticketsaga-password")));
    }

    /// <summary>A process of the user the server runs as (`postgres` when the tests run as root); its PID is the first output line.</summary>
    private static System.Diagnostics.Process StartAsServerUser(string command)
    {
        var script = "echo $$; exec " + command;
        var info = Environment.UserName == "root"
            ? new System.Diagnostics.ProcessStartInfo("runuser", ["-u", "postgres", "--", "sh", "-c", script])
            : new System.Diagnostics.ProcessStartInfo("sh", ["-c", script]);
        info.RedirectStandardOutput = true;
        return System.Diagnostics.Process.Start(info)!;
    }

    private static async Task<object?> ExecuteAsync(string connectionString, string sql)
    {
        // Unpooled: a pooled connection from before the restart would be a dead one.
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    public void Dispose()
    {
        if (Directory.Exists(_folder))
        {
            Directory.Delete(_folder, recursive: true);
        }
    }
}
