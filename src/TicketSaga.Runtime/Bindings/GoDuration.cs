using System.Globalization;

namespace TicketSaga.Runtime.Bindings;

/// <summary>Go's <c>time.Duration.String()</c>, as daprd reports durations in binding metadata: <c>1.5s</c>, <c>2.3ms</c>, <c>1m2s</c>.</summary>
public static class GoDuration
{
    public static string Format(TimeSpan duration)
    {
        var nanoseconds = duration.Ticks * 100;
        if (nanoseconds == 0)
        {
            return "0s";
        }

        if (nanoseconds < 1_000)
        {
            return nanoseconds.ToString(CultureInfo.InvariantCulture) + "ns";
        }

        if (nanoseconds < 1_000_000)
        {
            return Fraction(nanoseconds, 1_000) + "µs";
        }

        if (nanoseconds < 1_000_000_000)
        {
            return Fraction(nanoseconds, 1_000_000) + "ms";
        }

        var hours = (long)duration.TotalHours;
        var minutes = duration.Minutes;
        var seconds = Fraction(nanoseconds % 60_000_000_000, 1_000_000_000) + "s";
        return hours > 0 ? $"{hours}h{minutes}m{seconds}"
            : minutes > 0 ? $"{minutes}m{seconds}"
            : seconds;
    }

    private static string Fraction(long value, long unit) =>
        ((decimal)value / unit).ToString("0.#########", CultureInfo.InvariantCulture);
}
