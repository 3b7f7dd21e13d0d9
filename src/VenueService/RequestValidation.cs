using Google.Protobuf.WellKnownTypes;
using TicketSaga.ServiceDefaults;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService;

/// <summary>
/// Turns requests into checked values before any database work, so bad input fails with
/// InvalidArgument and changes nothing.
/// </summary>
internal static class RequestValidation
{
    public const int MaxSeatsPerRow = 1000;
    public const int MaxSeatsPerPlan = 100_000;

    public static Guid RequireUuid(string value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw VenueErrors.InvalidArgument($"{field} is required")
        : Guid.TryParse(value, out var id) ? id
        : throw VenueErrors.InvalidArgument($"{field} '{value}' is not a UUID");

    public static string RequireText(string value, string field) =>
        string.IsNullOrWhiteSpace(value) ? throw VenueErrors.InvalidArgument($"{field} is required") : value;

    public static IReadOnlyList<Guid> RequireSeatIds(IReadOnlyList<string> seatIds, int maxSeats)
    {
        if (seatIds.Count == 0)
        {
            throw VenueErrors.InvalidArgument("seat_ids must name at least one seat");
        }

        if (seatIds.Count > maxSeats)
        {
            throw VenueErrors.InvalidArgument($"at most {maxSeats} seats can be reserved at once, {seatIds.Count} were named");
        }

        var ids = seatIds.Select((value, i) => RequireUuid(value, $"seat_ids[{i}]")).ToList();
        var repeated = ids.GroupBy(id => id).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        return repeated.Count > 0
            ? throw VenueErrors.InvalidArgument($"seat_ids names these seats more than once: {string.Join(", ", repeated)}")
            : ids;
    }

    public static int RequireQuantity(int qty, int maxSeats) =>
        qty >= 1 && qty <= maxSeats ? qty : throw VenueErrors.InvalidArgument($"qty must be between 1 and {maxSeats}, got {qty}");

    /// <summary>A future expiry within the longest hold allowed, truncated to PostgreSQL's microseconds.</summary>
    public static DateTime RequireExpiry(Timestamp? expiresAt, DateTimeOffset now, TimeSpan maxHold)
    {
        if (expiresAt is null)
        {
            throw VenueErrors.InvalidArgument("expires_at is required");
        }

        DateTime expiry;
        try
        {
            expiry = expiresAt.ToDateTime();
        }
        catch (InvalidOperationException)
        {
            throw VenueErrors.InvalidArgument("expires_at is not a valid timestamp");
        }

        expiry = PostgresTime.TruncateToMicroseconds(expiry).UtcDateTime;
        if (expiry <= now.UtcDateTime)
        {
            throw VenueErrors.InvalidArgument($"expires_at {expiry:O} is not in the future");
        }

        return expiry > now.UtcDateTime + maxHold
            ? throw VenueErrors.InvalidArgument($"expires_at {expiry:O} is more than {maxHold.TotalHours:0.##} hours ahead")
            : expiry;
    }

    public static string RequireClientReleaseReason(SeatReleaseReason reason) => reason switch
    {
        SeatReleaseReason.Expired or SeatReleaseReason.Cancelled or SeatReleaseReason.Failed => reason.ToString().ToUpperInvariant(),
        SeatReleaseReason.Abandoned => throw VenueErrors.InvalidArgument("reason ABANDONED is reserved for holds the service reclaims itself"),
        _ => throw VenueErrors.InvalidArgument("reason must be EXPIRED, CANCELLED or FAILED"),
    };

    /// <summary>Operator input: non-empty sections and rows, unique names, 1..1000 seats a row.</summary>
    public static void RequireLayout(IReadOnlyList<SectionLayout> sections)
    {
        if (sections.Count == 0)
        {
            throw VenueErrors.InvalidArgument("a seat plan needs at least one section");
        }

        var sectionNames = new HashSet<string>(StringComparer.Ordinal);
        var capacity = 0L;
        foreach (var section in sections)
        {
            var name = RequireText(section.Name, "section name");
            if (!sectionNames.Add(name))
            {
                throw VenueErrors.InvalidArgument($"section '{name}' appears more than once");
            }

            if (section.Rows.Count == 0)
            {
                throw VenueErrors.InvalidArgument($"section '{name}' has no rows");
            }

            var rowLabels = new HashSet<string>(StringComparer.Ordinal);
            foreach (var row in section.Rows)
            {
                var label = RequireText(row.Label, $"row label in section '{name}'");
                if (!rowLabels.Add(label))
                {
                    throw VenueErrors.InvalidArgument($"row '{label}' appears more than once in section '{name}'");
                }

                if (row.Seats is < 1 or > MaxSeatsPerRow)
                {
                    throw VenueErrors.InvalidArgument(
                        $"row '{label}' in section '{name}' has {row.Seats} seats; a row has 1 to {MaxSeatsPerRow}");
                }

                capacity += row.Seats;
            }
        }

        if (capacity > MaxSeatsPerPlan)
        {
            throw VenueErrors.InvalidArgument($"a seat plan holds at most {MaxSeatsPerPlan} seats, this one has {capacity}");
        }
    }
}
