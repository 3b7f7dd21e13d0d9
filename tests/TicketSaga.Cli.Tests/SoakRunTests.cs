using TicketSaga.Cli.Chaos;

namespace TicketSaga.Cli.Tests;

public sealed class SoakRunTests
{
    [Fact]
    public void A_rounds_median_and_peak_are_taken_per_process_and_ignore_readings_of_a_process_that_was_down()
    {
        List<IReadOnlyDictionary<string, long>> readings =
        [
            new Dictionary<string, long> { ["order-service"] = 100, ["stub"] = 50 },
            new Dictionary<string, long> { ["order-service"] = 300, ["stub"] = 0 },
            new Dictionary<string, long> { ["order-service"] = 200, ["stub"] = 70 },
            new Dictionary<string, long> { ["order-service"] = 120 },
        ];

        var median = SoakRun.Summarize(readings, values => values.Order().ElementAt(values.Count / 2));
        var peak = SoakRun.Summarize(readings, values => values.Max());

        Assert.Equal(new Dictionary<string, long> { ["order-service"] = 200, ["stub"] = 70 }, median);
        Assert.Equal(new Dictionary<string, long> { ["order-service"] = 300, ["stub"] = 70 }, peak);
    }

    [Fact]
    public void Growth_runs_from_the_first_round_to_the_last_for_processes_seen_in_both()
    {
        List<SoakSample> rounds =
        [
            Round(1000, new() { ["gateway"] = 200, ["runtime"] = 400 }),
            Round(2000, new() { ["gateway"] = 900, ["runtime"] = 1 }),
            Round(3000, new() { ["gateway"] = 210, ["payment-service"] = 50 }),
        ];

        Assert.Equal(new Dictionary<string, double> { ["gateway"] = 5.0 }, SoakRun.Growth(rounds, s => s.RssKilobytes));
        Assert.Empty(SoakRun.Growth(rounds[..1], s => s.RssKilobytes));
    }

    private static SoakSample Round(int orders, Dictionary<string, long> rss) => new($"round {orders / 1000}", orders, new Dictionary<string, long>(), rss);
}
