using System.Diagnostics;
using TicketSaga.Cli.Load;

namespace TicketSaga.Cli.Tests.Load;

public sealed class ProcessCpuTests
{
    [Fact]
    public void A_busy_process_tree_shows_the_cpu_it_spent_under_its_root()
    {
        Assert.SkipUnless(ProcessCpu.Available, "/proc is Linux only");
        var before = ProcessCpu.Sample(Environment.ProcessId);

        // Spin until the process has used 300 ms of CPU by .NET's own account: on a busy machine that
        // takes longer than 300 ms of wall time.
        using var self = Process.GetCurrentProcess();
        var cpuBefore = self.TotalProcessorTime;
        var spins = 0L;
        while (self.TotalProcessorTime - cpuBefore < TimeSpan.FromMilliseconds(300))
        {
            spins++;
            self.Refresh();
        }

        var spent = ProcessCpu.Sample(Environment.ProcessId).Since(before);

        Assert.True(spins > 0);
        Assert.True(spent.MsByProcess[ProcessCpu.Runtime] >= 250, $"spent {spent.MsByProcess[ProcessCpu.Runtime]} ms");
        Assert.Equal(0, spent.PostgresMs);
    }

    [Fact]
    public void The_system_of_an_up_without_a_cluster_of_its_own_counts_the_machines_postgresql()
    {
        Assert.SkipUnless(ProcessCpu.Available, "/proc is Linux only");
        var postgresRuns = Directory.EnumerateDirectories("/proc")
            .Any(dir => File.Exists(Path.Combine(dir, "comm")) && TryRead(Path.Combine(dir, "comm"))?.Trim() is "postgres" or "postmaster");
        Assert.SkipUnless(postgresRuns, "no PostgreSQL runs on this machine");

        // This test process stands for an up against --postgres: nothing of PostgreSQL under it.
        var tree = ProcessCpu.Sample(Environment.ProcessId);
        var system = ProcessCpu.SampleSystem(Environment.ProcessId);

        Assert.False(tree.MsByProcess.ContainsKey(ProcessCpu.Postgres));
        Assert.True(system.MsByProcess.ContainsKey(ProcessCpu.Postgres));
        Assert.Equal(tree.TicketSagaMs, system.TicketSagaMs, tolerance: 100);
    }

    private static string? TryRead(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (IOException)
        {
            return null;
        }
    }

    [Fact]
    public void No_up_process_means_no_cpu_figures()
    {
        Assert.Equal(0, ProcessCpu.Sample(null).TotalMs);
        Assert.Null(ProcessCpu.FindUp(Path.Combine(Path.GetTempPath(), "no-such-repository-" + Guid.NewGuid().ToString("N"))));
    }
}
