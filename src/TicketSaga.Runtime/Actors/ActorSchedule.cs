using System.Globalization;
using System.Text.RegularExpressions;

namespace TicketSaga.Runtime.Actors;

/// <summary>
/// When a timer or reminder fires, parsed from Dapr's formats: Go durations (the .NET SDK sends
/// "0h0m5s0ms"; "5s", "1h30m", "250ms" are the same grammar), ISO 8601 durations ("PT5S") with
/// optional repetitions for periods ("R3/PT1S"), and RFC 3339 absolute times for dueTime and ttl.
/// An empty period means the timer or reminder fires once.
/// </summary>
public sealed partial record ActorSchedule(DateTimeOffset FirstFireAt, TimeSpan? Period, int? Repetitions, DateTimeOffset? ExpiresAt)
{
    public static ActorSchedule Parse(string? dueTime, string? period, string? ttl, DateTimeOffset now)
    {
        var firstFireAt = string.IsNullOrEmpty(dueTime) ? now : ParseDurationOrTime(dueTime, "dueTime", now);
        TimeSpan? interval = null;
        int? repetitions = null;
        if (!string.IsNullOrEmpty(period))
        {
            (interval, repetitions) = ParsePeriod(period);
            if (interval <= TimeSpan.Zero && repetitions is null)
            {
                interval = null;
            }
        }

        DateTimeOffset? expiresAt = string.IsNullOrEmpty(ttl) ? null : ParseDurationOrTime(ttl, "ttl", now);
        return new ActorSchedule(firstFireAt, interval, repetitions, expiresAt);
    }

    /// <summary>The fire time after <paramref name="previous"/>; a backlog (the runtime was down) collapses into one firing.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset previous, DateTimeOffset now)
    {
        var next = previous + Period!.Value;
        return next > now ? next : now + Period.Value;
    }

    private static DateTimeOffset ParseDurationOrTime(string value, string field, DateTimeOffset now)
    {
        if (TryParseDuration(value, out var duration))
        {
            return now + duration;
        }

        if (DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            return at;
        }

        throw new FormatException($"{field} '{value}' is neither a duration (\"0h0m5s0ms\", \"5s\", \"PT5S\") nor an RFC 3339 time.");
    }

    private static (TimeSpan Interval, int? Repetitions) ParsePeriod(string value)
    {
        var iso = Iso8601Duration().Match(value);
        if (iso.Success && value.Length > 1)
        {
            int? repetitions = iso.Groups["r"].Success ? int.Parse(iso.Groups["r"].Value, CultureInfo.InvariantCulture) : null;
            return (IsoInterval(iso), repetitions);
        }

        if (TryParseDuration(value, out var duration))
        {
            return (duration, null);
        }

        throw new FormatException($"period '{value}' is not a duration (\"0h0m10s0ms\", \"10s\", \"PT10S\", \"R3/PT10S\").");
    }

    private static bool TryParseDuration(string value, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var iso = Iso8601Duration().Match(value);
        if (iso.Success && !iso.Groups["r"].Success && value.Length > 1)
        {
            duration = IsoInterval(iso);
            return true;
        }

        var consumed = 0;
        foreach (Match part in GoDurationPart().Matches(value))
        {
            if (part.Index != consumed)
            {
                return false;
            }

            consumed += part.Length;
            var amount = double.Parse(part.Groups["n"].Value, CultureInfo.InvariantCulture);
            duration += part.Groups["u"].Value switch
            {
                "h" => TimeSpan.FromHours(amount),
                "m" => TimeSpan.FromMinutes(amount),
                "s" => TimeSpan.FromSeconds(amount),
                "ms" => TimeSpan.FromMilliseconds(amount),
                "us" or "µs" => TimeSpan.FromMicroseconds(amount),
                _ => TimeSpan.FromTicks((long)(amount / 100)),
            };
        }

        return consumed > 0 && consumed == value.Length;
    }

    private static TimeSpan IsoInterval(Match iso)
    {
        double Part(string name) => iso.Groups[name].Success ? double.Parse(iso.Groups[name].Value, CultureInfo.InvariantCulture) : 0;

        // Same calendar approximation as the Dapr .NET SDK: a year is 365 days, a month 30.
        var days = (Part("y") * 365) + (Part("mo") * 30) + (Part("w") * 7) + Part("d");
        return TimeSpan.FromDays(days) + TimeSpan.FromHours(Part("h")) + TimeSpan.FromMinutes(Part("mi")) + TimeSpan.FromSeconds(Part("s"));
    }

    [GeneratedRegex(@"(?<n>\d+(?:\.\d+)?)(?<u>ns|us|µs|ms|h|m|s)")]
    private static partial Regex GoDurationPart();

    [GeneratedRegex(@"^(?:R(?<r>\d+)/)?P(?:(?<y>\d+)Y)?(?:(?<mo>\d+)M)?(?:(?<w>\d+)W)?(?:(?<d>\d+)D)?(?:T(?:(?<h>\d+)H)?(?:(?<mi>\d+)M)?(?:(?<s>\d+(?:\.\d+)?)S)?)?$")]
    private static partial Regex Iso8601Duration();
}
