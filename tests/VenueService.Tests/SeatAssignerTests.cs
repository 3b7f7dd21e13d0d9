extern alias VenueServiceApp;

using VenueServiceApp::TicketSaga.VenueService;

namespace TicketSaga.VenueService.Tests;

public sealed class SeatAssignerTests
{
    [Fact]
    public void Takes_contiguous_seats_in_the_best_row_that_has_them()
    {
        var map = Map("A: xxxxxx", "B: x....x", "C: ......");

        Assert.Equal(["B2", "B3", "B4", "B5"], Assign(map, 4));
    }

    [Fact]
    public void A_better_row_with_only_scattered_seats_loses_to_a_contiguous_block_further_back()
    {
        var map = Map("A: .x.x.x.x", "B: xx...xxx");

        Assert.Equal(["B3", "B4", "B5"], Assign(map, 3));
    }

    [Theory]
    [InlineData(1, new[] { "A5" })]
    [InlineData(2, new[] { "A5", "A6" })]
    [InlineData(3, new[] { "A4", "A5", "A6" })] // centred at 5 and at 6 tie; the left one wins
    [InlineData(10, new[] { "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9", "A10" })]
    public void Within_a_row_takes_the_seats_closest_to_its_centre(int quantity, string[] expected)
    {
        Assert.Equal(expected, Assign(Map("A: .........."), quantity));
    }

    [Fact]
    public void Centre_preference_goes_around_taken_seats()
    {
        var map = Map("A: ...xxxx...");

        Assert.Equal(["A2", "A3"], Assign(map, 2));
        Assert.Equal(["A7", "A8", "A9"], Assign(Map("A: ..xxxx...."), 3));
    }

    [Fact]
    public void Without_a_row_that_fits_the_group_takes_a_block_over_the_fewest_rows()
    {
        var map = Map("A: x..x", "B: x..x", "C: x..x");

        Assert.Equal(["A2", "A3", "B2", "B3"], Assign(map, 4));
        Assert.Equal(["A2", "A3", "B2", "B3", "C2", "C3"], Assign(map, 6));
    }

    [Fact]
    public void Over_the_same_number_of_rows_the_tightest_group_wins_over_better_rows()
    {
        var map = Map("A: .xxxxxx.", "B: .xxxxxx.", "C: xxx..xxx", "D: xxx..xxx");

        Assert.Equal(["C4", "C5", "D4", "D5"], Assign(map, 4));
    }

    [Fact]
    public void Fewest_rows_come_before_the_tightest_group()
    {
        var map = Map("A: .x.x.x.x", "B: xxx..xxx", "C: xxx..xxx");

        Assert.Equal(["A1", "A3", "A5", "A7"], Assign(map, 4));
    }

    [Fact]
    public void Rows_of_different_lengths_are_aligned_on_their_centres()
    {
        // Row B is two seats wider: its centre seats are B6 and B7, under A5 and A6.
        var map = Map("A: xxxx..xxxx", "B: x.xxx..xxxxx");

        Assert.Equal(["A5", "A6", "B6", "B7"], Assign(map, 4));
    }

    [Fact]
    public void Takes_every_seat_left_when_exactly_enough_remain_and_nothing_when_too_few()
    {
        var map = Map("A: x.xx", "B: xxx.", "C: .xxx");

        Assert.Equal(["A2", "B4", "C1"], Assign(map, 3));
        Assert.Null(SeatAssigner.Assign(map, 4));
        Assert.Null(SeatAssigner.Assign(Map("A: xxxx"), 1));
    }

    [Fact]
    public void The_same_seat_map_always_gives_the_same_valid_seats_and_a_contiguous_block_whenever_one_exists()
    {
        var random = new Random(20261125);
        for (var round = 0; round < 300; round++)
        {
            var rows = Enumerable.Range(0, random.Next(1, 7))
                .Select(r => $"{(char)('A' + r)}: " + new string([.. Enumerable.Range(0, random.Next(1, 15)).Select(_ => random.Next(3) == 0 ? 'x' : '.')]))
                .ToArray();
            var quantity = random.Next(1, 7);
            var map = Map(rows);

            var first = SeatAssigner.Assign(map, quantity);
            var again = SeatAssigner.Assign(Map(rows), quantity);

            var available = map.SelectMany(r => r.Seats).Where(s => s.Available).ToDictionary(s => s.SeatId);
            if (available.Count < quantity)
            {
                Assert.Null(first);
                continue;
            }

            Assert.NotNull(first);
            Assert.Equal(first, again);
            Assert.Equal(quantity, first.Distinct().Count());
            Assert.All(first, id => Assert.True(available.ContainsKey(id)));
            var blockExists = rows.Any(r => r.Contains(new string('.', quantity), StringComparison.Ordinal));
            var chosenRows = map.Where(r => r.Seats.Any(s => first.Contains(s.SeatId))).ToList();
            if (blockExists)
            {
                var row = Assert.Single(chosenRows);
                var numbers = row.Seats.Where(s => first.Contains(s.SeatId)).Select(s => s.Number).ToList();
                Assert.Equal(quantity - 1, numbers.Max() - numbers.Min());
            }
        }
    }

    /// <summary>Rows as text: "B: x..x" is row B with seats 1 and 4 taken and 2 and 3 available.</summary>
    private static List<SeatRow> Map(params string[] rows) =>
        rows.Select(row =>
        {
            var label = row[..row.IndexOf(':', StringComparison.Ordinal)];
            var seats = row[(label.Length + 2)..];
            return new SeatRow(label, seats.Select((c, i) => new SeatSlot(SeatId(label, i + 1), i + 1, c == '.')).ToList());
        }).ToList();

    private static string[] Assign(List<SeatRow> map, int quantity) =>
        SeatAssigner.Assign(map, quantity)!.Select(id => map.SelectMany(r => r.Seats.Select(s => (r.Label, s))).Single(x => x.s.SeatId == id))
            .Select(x => $"{x.Label}{x.s.Number}").ToArray();

    /// <summary>A stable id per seat, so that two maps built from the same text are equal.</summary>
    private static Guid SeatId(string row, int number) => new($"{(int)row[0]:x8}-0000-0000-0000-{number:x12}");
}
