using System.Globalization;

namespace TicketSaga.Cli.Commands;

/// <summary>Durations on the command line: 90s, 30m, 1h, 7d or hh:mm:ss.</summary>
internal static class DurationText
{
    /// <summary>The duration, or null when the text is not one or not positive.</summary>
    public static TimeSpan? Parse(string text)
    {
        text = text.Trim();
        TimeSpan? parsed = text.Length > 1 && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var amount)
            ? char.ToLowerInvariant(text[^1]) switch
            {
                's' => TimeSpan.FromSeconds(amount),
                'm' => TimeSpan.FromMinutes(amount),
                'h' => TimeSpan.FromHours(amount),
                'd' => TimeSpan.FromDays(amount),
                _ => null,
            }
            : TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
        return parsed > TimeSpan.Zero ? parsed : null;
    }
}
