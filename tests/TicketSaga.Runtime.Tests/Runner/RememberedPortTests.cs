using System.Globalization;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Runtime.Tests.Runner;

/// <summary>The kept cluster's port: remembered across runs, but never one that outgoing connections may hold.</summary>
public sealed class RememberedPortTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("ticketsaga-port-").FullName;

    [Fact]
    public void A_remembered_port_below_the_ephemeral_range_is_kept()
    {
        File.WriteAllText(Path.Combine(_root, "port"), "25999");

        Assert.Equal(25999, RunnerPostgres.RememberedPort(_root));
    }

    [Theory]
    [InlineData("55432")]
    [InlineData("32768")]
    public void A_remembered_port_outgoing_connections_may_take_is_replaced_and_the_new_one_remembered(string remembered)
    {
        File.WriteAllText(Path.Combine(_root, "port"), remembered);

        var port = RunnerPostgres.RememberedPort(_root);

        Assert.InRange(port, 1024, 32767);
        Assert.Equal(port, int.Parse(File.ReadAllText(Path.Combine(_root, "port")), CultureInfo.InvariantCulture));
    }

    [Fact]
    public void A_new_cluster_gets_a_port_below_the_ephemeral_range_and_remembers_it()
    {
        var port = RunnerPostgres.RememberedPort(_root);

        Assert.InRange(port, 1024, 32767);
        Assert.Equal(port, RunnerPostgres.RememberedPort(_root));
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);
}
