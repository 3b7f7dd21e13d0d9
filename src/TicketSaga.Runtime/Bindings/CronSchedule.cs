using System.Globalization;
using TicketSaga.Runtime.Components;

namespace TicketSaga.Runtime.Bindings;

/// <summary>
/// A <c>bindings.cron</c> schedule as Dapr's cron binding parses it (dapr/kit/cron, robfig/cron's parser with
/// <c>SecondOptional | Minute | Hour | Dom | Month | Dow | Descriptor</c>): five or six fields (seconds first, optional),
/// lists, ranges, steps, month and weekday names, <c>*</c> or <c>?</c>; <c>@yearly</c>, <c>@monthly</c>, <c>@weekly</c>,
/// <c>@daily</c>, <c>@midnight</c>, <c>@hourly</c>, <c>@every &lt;duration&gt;</c>; a <c>CRON_TZ=</c> or <c>TZ=</c> prefix.
/// </summary>
public sealed class CronSchedule
{
    private static readonly Field Seconds = new(0, 59, []);
    private static readonly Field Minutes = new(0, 59, []);
    private static readonly Field Hours = new(0, 23, []);
    private static readonly Field DaysOfMonth = new(1, 31, []);
    private static readonly Field Months = new(1, 12, ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]);
    private static readonly Field DaysOfWeek = new(0, 6, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]);

    private readonly TimeSpan? _every;
    private readonly ulong[] _bits = new ulong[6];
    private readonly bool _domStar;
    private readonly bool _dowStar;
    private readonly TimeZoneInfo _zone;

    private CronSchedule(TimeZoneInfo zone, TimeSpan every)
    {
        _zone = zone;
        _every = every;
    }

    private CronSchedule(TimeZoneInfo zone, string[] fields)
    {
        _zone = zone;
        Field[] kinds = [Seconds, Minutes, Hours, DaysOfMonth, Months, DaysOfWeek];
        for (var i = 0; i < kinds.Length; i++)
        {
            var (bits, star) = kinds[i].Parse(fields[i]);
            _bits[i] = bits;
            if (i == 3)
            {
                _domStar = star;
            }
            else if (i == 5)
            {
                _dowStar = star;
            }
        }
    }

    /// <summary>Reads a schedule; a <see cref="FormatException"/> says what is wrong, as daprd refuses the component.</summary>
    public static CronSchedule Parse(string spec)
    {
        var text = spec.Trim();
        if (text.Length == 0)
        {
            throw new FormatException("schedule not set");
        }

        var zone = TimeZoneInfo.Local;
        if (text.StartsWith("TZ=", StringComparison.Ordinal) || text.StartsWith("CRON_TZ=", StringComparison.Ordinal))
        {
            var end = text.IndexOf(' ', StringComparison.Ordinal);
            var name = text[(text.IndexOf('=', StringComparison.Ordinal) + 1)..(end < 0 ? text.Length : end)];
            try
            {
                zone = TimeZoneInfo.FindSystemTimeZoneById(name);
            }
            catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                throw new FormatException($"provided bad location {name}: {ex.Message}");
            }

            text = end < 0 ? "" : text[(end + 1)..].Trim();
        }

        if (text.StartsWith('@'))
        {
            return Descriptor(zone, text);
        }

        var fields = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length is < 5 or > 6)
        {
            throw new FormatException($"expected 5 to 6 fields, found {fields.Length}: {text}");
        }

        return new CronSchedule(zone, fields.Length == 5 ? ["0", .. fields] : fields);
    }

    private static CronSchedule Descriptor(TimeZoneInfo zone, string text)
    {
        string[]? fields = text switch
        {
            "@yearly" or "@annually" => ["0", "0", "0", "1", "1", "*"],
            "@monthly" => ["0", "0", "0", "1", "*", "*"],
            "@weekly" => ["0", "0", "0", "*", "*", "0"],
            "@daily" or "@midnight" => ["0", "0", "0", "*", "*", "*"],
            "@hourly" => ["0", "0", "*", "*", "*", "*"],
            _ => null,
        };
        if (fields is not null)
        {
            return new CronSchedule(zone, fields);
        }

        const string every = "@every ";
        if (!text.StartsWith(every, StringComparison.Ordinal))
        {
            throw new FormatException($"unrecognized descriptor: {text}");
        }

        TimeSpan delay;
        try
        {
            delay = ResourceLoader.ParseDuration(text[every.Length..]);
        }
        catch (FormatException ex)
        {
            throw new FormatException($"failed to parse duration {text}: {ex.Message}");
        }

        // As robfig/cron's Every: whole seconds, at least one.
        delay = TimeSpan.FromSeconds(Math.Max(1, Math.Floor(delay.TotalSeconds)));
        return new CronSchedule(zone, delay);
    }

    /// <summary>The first firing strictly after <paramref name="after"/>; null when none falls within five years.</summary>
    public DateTimeOffset? Next(DateTimeOffset after)
    {
        // Both kinds start from the next whole second, as robfig/cron does.
        var start = after.AddTicks(-(after.Ticks % TimeSpan.TicksPerSecond));
        if (_every is { } delay)
        {
            return start + delay;
        }

        // robfig/cron's search on the wall clock of the schedule's zone: the first field that does not match
        // moves on by one unit (the first move also clears the finer fields), and a field that wraps
        // around starts the search over from the month.
        var t = TimeZoneInfo.ConvertTime(start.AddSeconds(1), _zone).DateTime;
        var yearLimit = t.Year + 5;
        var added = false;
        while (t.Year <= yearLimit)
        {
            if (!Has(4, t.Month))
            {
                t = Truncate(ref added, t, new DateTime(t.Year, t.Month, 1)).AddMonths(1);
            }
            else if (!DayMatches(t))
            {
                t = Truncate(ref added, t, t.Date).AddDays(1);
            }
            else if (!Has(2, t.Hour))
            {
                t = Truncate(ref added, t, t.Date.AddHours(t.Hour)).AddHours(1);
            }
            else if (!Has(1, t.Minute))
            {
                t = Truncate(ref added, t, t.Date.AddHours(t.Hour).AddMinutes(t.Minute)).AddMinutes(1);
            }
            else if (!Has(0, t.Second))
            {
                t = t.AddSeconds(1);
            }
            else
            {
                var wallClock = DateTime.SpecifyKind(t, DateTimeKind.Unspecified);
                return new DateTimeOffset(wallClock, _zone.GetUtcOffset(wallClock));
            }
        }

        return null;
    }

    private static DateTime Truncate(ref bool added, DateTime t, DateTime truncated)
    {
        if (added)
        {
            return t;
        }

        added = true;
        return truncated;
    }

    private bool Has(int field, int value) => (_bits[field] & (1UL << value)) != 0;

    /// <summary>robfig/cron: when either day field is <c>*</c> both must match, else either may.</summary>
    private bool DayMatches(DateTime t)
    {
        var dom = Has(3, t.Day);
        var dow = Has(5, (int)t.DayOfWeek);
        return _domStar || _dowStar ? dom && dow : dom || dow;
    }

    private sealed record Field(int Min, int Max, string[] Names)
    {
        public (ulong Bits, bool Star) Parse(string text)
        {
            ulong bits = 0;
            var star = false;
            foreach (var part in text.Split(','))
            {
                var (rangeBits, rangeStar) = Range(part);
                bits |= rangeBits;
                star |= rangeStar;
            }

            return (bits, star);
        }

        private (ulong Bits, bool Star) Range(string expression)
        {
            var slash = expression.Split('/');
            var bounds = slash[0].Split('-');
            int start, end;
            var star = false;
            if (bounds[0] is "*" or "?")
            {
                (start, end, star) = (Min, Max, true);
            }
            else
            {
                start = Value(bounds[0]);
                end = bounds.Length switch
                {
                    1 => start,
                    2 => Value(bounds[1]),
                    _ => throw new FormatException($"too many hyphens: {expression}"),
                };
            }

            var step = 1;
            if (slash.Length == 2)
            {
                step = int.TryParse(slash[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parsed)
                    ? parsed
                    : throw new FormatException($"failed to parse int from {slash[1]}");
                if (bounds.Length == 1 && !star)
                {
                    end = Max;
                }

                star &= step == 1;
            }
            else if (slash.Length > 2)
            {
                throw new FormatException($"too many slashes: {expression}");
            }

            if (start < Min)
            {
                throw new FormatException($"beginning of range ({start}) below minimum ({Min}): {expression}");
            }

            if (end > Max)
            {
                throw new FormatException($"end of range ({end}) above maximum ({Max}): {expression}");
            }

            if (start > end)
            {
                throw new FormatException($"beginning of range ({start}) beyond end of range ({end}): {expression}");
            }

            if (step == 0)
            {
                throw new FormatException($"step of range should be a positive number: {expression}");
            }

            ulong bits = 0;
            for (var i = start; i <= end; i += step)
            {
                bits |= 1UL << i;
            }

            return (bits, star);
        }

        private int Value(string text)
        {
            var named = Array.IndexOf(Names, text.ToLowerInvariant());
            if (named >= 0)
            {
                return named + Min;
            }

            return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new FormatException($"failed to parse int from {text}");
        }
    }
}
