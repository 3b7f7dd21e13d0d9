using TicketSaga.Cli.Load;
using TicketSaga.Contracts;

namespace TicketSaga.Cli.Tests;

/// <summary>The verdict of `load flash-sale`: computed from the services' data, never from what the buyers believe.</summary>
public sealed class FlashSaleReportTests
{
    private static readonly FlashSaleOptions Options = new(Buyers: 6, Seats: 4, PayShare: 0.5, new Uri("http://127.0.0.1:5100"), TimeSpan.FromMinutes(5));
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);
    private static readonly ClientTally Tally = new([10, 20, 30, 40, 50, 60], TimeSpan.FromSeconds(2), 4, 2, new Dictionary<string, int>(), 2, 0);

    [Fact]
    public void A_clean_sale_is_healthy_and_counts_from_the_orders_and_the_stock()
    {
        var orders = new[]
        {
            Order("a", OrderStatuses.Confirmed), Order("b", OrderStatuses.Confirmed),
            Order("c", OrderStatuses.Expired), Order("d", OrderStatuses.Expired),
        };

        var result = Summarize(orders, new Stock(4, 2, 0, 2), new Stock(4, 2, 0, 2));

        Assert.True(result.Healthy, string.Join("; ", result.Violations));
        Assert.Equal((2, 2, 2, 0, 0), (result.Sold, result.Paid, result.Expired, result.Pending, result.Oversold));
        Assert.Equal(3.0, result.OrdersPerS);
        Assert.Equal((30.0, 60.0), (result.ReserveP50Ms, result.ReserveP99Ms));
    }

    [Fact]
    public void More_sold_than_seats_is_oversold_even_when_each_service_conserves_its_own_stock()
    {
        var orders = Enumerable.Range(0, 5).Select(i => Order($"u{i}", OrderStatuses.Confirmed)).ToArray();

        var result = Summarize(orders, new Stock(5, 0, 0, 5), new Stock(5, 0, 0, 5));

        Assert.Equal(1, result.Oversold);
        Assert.False(result.ConservationOk);
        Assert.False(result.Healthy);
    }

    [Fact]
    public void One_seat_in_two_orders_is_oversold()
    {
        var seat = Guid.CreateVersion7();
        var orders = new[] { Order("a", OrderStatuses.Confirmed, seat), Order("b", OrderStatuses.Confirmed, seat) };

        var result = Summarize(orders, new Stock(4, 2, 0, 2), new Stock(4, 2, 0, 2));

        Assert.Equal(1, result.Oversold);
        Assert.False(result.ConservationOk);
    }

    [Fact]
    public void Stock_that_does_not_add_up_to_capacity_breaks_conservation()
    {
        var result = Summarize([Order("a", OrderStatuses.Confirmed)], new Stock(4, 3, 0, 1), new Stock(4, 2, 0, 1));

        Assert.False(result.ConservationOk);
        Assert.Contains(result.Violations, v => v.StartsWith("venue-service", StringComparison.Ordinal));
    }

    [Fact]
    public void A_hold_left_when_every_order_has_ended_breaks_conservation()
    {
        var result = Summarize([Order("a", OrderStatuses.Expired)], new Stock(4, 3, 1, 0), new Stock(4, 3, 1, 0));

        Assert.False(result.ConservationOk);
        Assert.Contains(result.Violations, v => v.StartsWith("sold:", StringComparison.Ordinal));
    }

    [Fact]
    public void Sold_stock_no_confirmed_order_accounts_for_breaks_conservation()
    {
        var result = Summarize([Order("a", OrderStatuses.Expired)], new Stock(4, 3, 0, 1), new Stock(4, 3, 0, 1));

        Assert.False(result.ConservationOk);
    }

    [Fact]
    public void A_live_order_is_stuck_only_after_expires_at_plus_grace()
    {
        var waiting = Order("a", OrderStatuses.Pending) with { ExpiresAt = Now - Grace + TimeSpan.FromSeconds(1) };
        var stuck = Order("b", OrderStatuses.Pending) with { ExpiresAt = Now - Grace - TimeSpan.FromSeconds(1) };

        var result = Summarize([waiting, stuck], new Stock(4, 2, 2, 0), new Stock(4, 2, 2, 0));

        Assert.Equal((1, 2), (result.StuckOrders, result.Pending));
        Assert.True(result.ConservationOk);
        Assert.False(result.Healthy);
    }

    [Theory]
    [InlineData(0.7, 100, 70)]
    [InlineData(0.7, 30, 21)]
    [InlineData(0.5, 7, 3)]
    [InlineData(1.0, 13, 13)]
    [InlineData(0.0, 13, 0)]
    public void The_paying_share_of_the_first_n_successes_is_floor_of_n_times_share(double share, int successes, int payers)
    {
        Assert.Equal(payers, Enumerable.Range(0, successes).Count(k => FlashSaleReport.ShouldPay(k, share)));
    }

    [Fact]
    public void Percentiles_are_nearest_rank()
    {
        double[] samples = [.. Enumerable.Range(1, 100).Select(i => (double)i).Reverse()];

        Assert.Equal((50.0, 99.0, 100.0), (FlashSaleReport.Percentile(samples, 50), FlashSaleReport.Percentile(samples, 99), FlashSaleReport.Percentile(samples, 100)));
        Assert.Equal(0, FlashSaleReport.Percentile([], 99));
    }

    [Theory]
    [InlineData(1, new[] { 1 })]
    [InlineData(20, new[] { 20 })]
    [InlineData(45, new[] { 20, 20, 5 })]
    public void Seat_rows_hold_exactly_the_seats_asked_for(int seats, int[] rows)
    {
        Assert.Equal(rows, FlashSaleReport.SeatRows(seats));
    }

    [Theory]
    [InlineData(0, 10, 0.7, "http://127.0.0.1:5100", "--buyers")]
    [InlineData(10, 0, 0.7, "http://127.0.0.1:5100", "--seats")]
    [InlineData(10, 10, 1.5, "http://127.0.0.1:5100", "--pay-share")]
    [InlineData(10, 10, -0.1, "http://127.0.0.1:5100", "--pay-share")]
    [InlineData(10, 10, 0.7, "ftp://127.0.0.1:5100", "--gateway")]
    public void Options_out_of_range_are_refused_with_the_option_named(int buyers, int seats, double share, string gateway, string option)
    {
        var errors = new FlashSaleOptions(buyers, seats, share, new Uri(gateway), TimeSpan.FromMinutes(1)).Validate();

        Assert.Single(errors);
        Assert.StartsWith(option, errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Sensible_options_validate_and_a_zero_time_cap_does_not()
    {
        Assert.Empty(Options.Validate());
        Assert.Contains((Options with { MaxDuration = TimeSpan.Zero }).Validate(), e => e.StartsWith("--max-duration", StringComparison.Ordinal));
    }

    [Fact]
    public void Orders_that_ended_only_after_expires_at_plus_grace_fail_the_run_though_none_is_stuck()
    {
        Stock stock = new(4, 2, 0, 2);
        var orders = new[] { Order("a", OrderStatuses.Confirmed), Order("b", OrderStatuses.Confirmed), Order("c", OrderStatuses.Expired) };

        var result = Summarize(orders, stock, stock, lateOrders: 1);

        Assert.Equal((0, 1), (result.StuckOrders, result.LateOrders));
        Assert.True(result.ConservationOk);
        Assert.False(result.Healthy);
    }

    private static FlashSaleResult Summarize(IReadOnlyList<SoldOrder> orders, Stock tickets, Stock seats, int lateOrders = 0) =>
        FlashSaleReport.Summarize(Options, Tally, orders, tickets, seats, Now, Grace, TimeSpan.FromSeconds(30), lateOrders, TimeSpan.FromSeconds(25), ("event", "ticket", "plan"));

    private static SoldOrder Order(string user, string status, Guid? seat = null) =>
        new(Guid.CreateVersion7(), user, status, 1, Now - TimeSpan.FromMinutes(1), [seat ?? Guid.CreateVersion7()]);
}
