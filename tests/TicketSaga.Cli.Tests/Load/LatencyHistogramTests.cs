using TicketSaga.Cli.Load;

namespace TicketSaga.Cli.Tests.Load;

public sealed class LatencyHistogramTests
{
    [Fact]
    public void Percentiles_are_within_a_tenth_of_a_percent_of_the_exact_ones()
    {
        var histogram = new LatencyHistogram();
        for (var ms = 1; ms <= 10_000; ms++)
        {
            histogram.Record(TimeSpan.FromMilliseconds(ms));
        }

        Assert.Equal(10_000, histogram.Count);
        Assert.Equal(5000, histogram.PercentileMs(50), 5000 * 0.001);
        Assert.Equal(9900, histogram.PercentileMs(99), 9900 * 0.001);
        Assert.Equal(10_000, histogram.MaxMs, 10_000 * 0.001);
    }

    [Fact]
    public void Sub_millisecond_latencies_keep_microsecond_resolution()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(TimeSpan.FromMicroseconds(250));

        Assert.Equal(0.25, histogram.PercentileMs(50), 0.001);
    }

    [Fact]
    public void A_latency_beyond_ten_minutes_counts_as_ten_minutes_instead_of_being_lost()
    {
        var histogram = new LatencyHistogram();
        histogram.Record(TimeSpan.FromHours(1));

        Assert.Equal(1, histogram.Count);
        Assert.Equal(600_000, histogram.MaxMs, 600.0);
    }

    [Fact]
    public void An_empty_histogram_reports_zeros_and_no_spectrum()
    {
        var histogram = new LatencyHistogram();

        Assert.Equal((0.0, 0.0), (histogram.PercentileMs(99), histogram.MaxMs));
        Assert.Empty(histogram.Spectrum());
    }

    [Fact]
    public void The_spectrum_rises_from_the_minimum_to_the_maximum()
    {
        var histogram = new LatencyHistogram();
        foreach (var ms in new[] { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 800 })
        {
            histogram.Record(TimeSpan.FromMilliseconds(ms));
        }

        var spectrum = histogram.Spectrum();

        Assert.Equal((0.0, 100.0), (spectrum[0].Percentile, spectrum[^1].Percentile));
        Assert.Equal(1, spectrum[0].Ms, 0.01);
        Assert.Equal(800, spectrum[^1].Ms, 1.0);
        Assert.Equal(spectrum.Select(p => p.Ms).Order(), spectrum.Select(p => p.Ms));
    }
}
