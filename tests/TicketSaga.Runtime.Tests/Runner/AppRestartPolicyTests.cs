using TicketSaga.Runtime.Runner;

namespace TicketSaga.Runtime.Tests.Runner;

public sealed class AppRestartPolicyTests
{
    [Fact]
    public void The_back_off_doubles_from_one_second_and_stops_growing_at_thirty()
    {
        var delays = Enumerable.Range(1, 8).Select(attempt => AppRestartPolicy.Default.DelayBefore(attempt).TotalSeconds);

        Assert.Equal([1, 2, 4, 8, 16, 30, 30, 30], delays);
    }
}
