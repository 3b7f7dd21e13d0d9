namespace TicketSaga.VenueService;

/// <summary>A seat as the assigner sees it: its place in the row and whether it can be taken.</summary>
public sealed record SeatSlot(Guid SeatId, int Number, bool Available);

/// <summary>A row of a section, seats numbered 1..n from left to right.</summary>
public sealed record SeatRow(string Label, IReadOnlyList<SeatSlot> Seats);

/// <summary>
/// Picks the best available seats of a section, a pure function of the seat map:
/// <list type="number">
/// <item>the fewest rows spanned (so contiguous seats in one row whenever they exist),</item>
/// <item>then the smallest spread across the seats (centre-aligned when rows differ in length),</item>
/// <item>then the best rows (rows are given best first),</item>
/// <item>then closest to the row centre, then leftmost.</item>
/// </list>
/// The same seat map always gives the same seats.
/// </summary>
public static class SeatAssigner
{
    /// <summary>The chosen seat ids, ordered by row then number; null when fewer than <paramref name="quantity"/> are available.</summary>
    public static IReadOnlyList<Guid>? Assign(IReadOnlyList<SeatRow> rows, int quantity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(quantity);

        var available = rows
            .Select((row, rank) => row.Seats
                .Where(seat => seat.Available)
                .Select(seat => new Candidate(seat.SeatId, rank, seat.Number, Position(seat.Number, row.Seats.Count)))
                .ToArray())
            .ToArray();
        if (available.Sum(row => row.Length) < quantity)
        {
            return null;
        }

        // Windows of consecutive rows, narrowest first: the first width with a fit spans the fewest rows.
        for (var width = 1; width <= rows.Count; width++)
        {
            Choice? best = null;
            for (var first = 0; first + width <= rows.Count; first++)
            {
                var pool = available.Skip(first).Take(width).SelectMany(row => row).ToList();
                if (pool.Count < quantity)
                {
                    continue;
                }

                pool.Sort(static (a, b) => (a.Position, a.Rank, a.Number).CompareTo((b.Position, b.Rank, b.Number)));
                for (var start = 0; start + quantity <= pool.Count; start++)
                {
                    var choice = new Choice(pool.GetRange(start, quantity));
                    if (best is null || choice.IsBetterThan(best))
                    {
                        best = choice;
                    }
                }
            }

            if (best is not null)
            {
                return best.Seats.OrderBy(s => s.Rank).ThenBy(s => s.Number).Select(s => s.SeatId).ToList();
            }
        }

        return null;
    }

    /// <summary>Twice the seat's offset from its row's centre: an integer even when rows differ in parity.</summary>
    private static int Position(int number, int seatsInRow) => (2 * number) - (seatsInRow + 1);

    private sealed record Candidate(Guid SeatId, int Rank, int Number, int Position);

    private sealed class Choice(List<Candidate> seats)
    {
        public List<Candidate> Seats { get; } = seats;

        private int FirstRank { get; } = seats.Min(s => s.Rank);

        private int RowsSpanned => Seats.Max(s => s.Rank) - FirstRank + 1;

        // Seats arrive sorted by position, so the ends of the list are the ends of the group.
        private int Spread => Seats[^1].Position - Seats[0].Position;

        private int DistanceFromCentre => Math.Abs(Seats[0].Position + Seats[^1].Position);

        public bool IsBetterThan(Choice other) =>
            (RowsSpanned, Spread, FirstRank, DistanceFromCentre, Seats[0].Position)
                .CompareTo((other.RowsSpanned, other.Spread, other.FirstRank, other.DistanceFromCentre, other.Seats[0].Position)) < 0;
    }
}
