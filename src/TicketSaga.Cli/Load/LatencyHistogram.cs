using HdrHistogram;

namespace TicketSaga.Cli.Load;

/// <summary>
/// Latencies in an HDR histogram: microsecond resolution, 3 significant digits, from 1 µs to 10 min,
/// safe to record from many answers at once. Percentiles come back in milliseconds.
/// </summary>
internal sealed class LatencyHistogram
{
    private static readonly long Highest = (long)TimeSpan.FromMinutes(10).TotalMicroseconds;

    private readonly LongConcurrentHistogram _micros = new(1, Highest, 3);

    public long Count => _micros.TotalCount;

    /// <summary>Records one latency; anything beyond 10 min counts as 10 min rather than being lost.</summary>
    public void Record(TimeSpan latency) =>
        _micros.RecordValue(Math.Clamp((long)latency.TotalMicroseconds, 1, Highest));

    /// <summary>The latency at a percentile (0–100), in ms; 0 when nothing was recorded.</summary>
    public double PercentileMs(double percentile) =>
        Count == 0 ? 0 : _micros.GetValueAtPercentile(percentile) / 1000.0;

    public double MaxMs => Count == 0 ? 0 : _micros.GetMaxValue() / 1000.0;

    /// <summary>The percentile spectrum an HDR plot draws: (percentile, ms) at 0, 50, 75, 87.5 … up to 100.</summary>
    public IReadOnlyList<(double Percentile, double Ms)> Spectrum()
    {
        if (Count == 0)
        {
            return [];
        }

        var points = new List<(double, double)> { (0, PercentileMs(0)) };
        // Halving the distance to 100 each step spreads the tail evenly on a 1/(1-p) axis.
        for (var missing = 50.0; missing >= 0.001; missing /= 2)
        {
            points.Add((100 - missing, PercentileMs(100 - missing)));
        }

        points.Add((100, MaxMs));
        return points;
    }
}
