using TicketSaga.Contracts;

namespace TicketSaga.Cli.Load;

/// <summary>Open loop: buyers arrive at <paramref name="Rate"/> per second for <paramref name="Duration"/>, whatever the answers.</summary>
internal sealed record OpenLoopOptions(double Rate, TimeSpan Duration);

/// <summary>What `load flash-sale` is asked to do: a closed burst of <paramref name="Buyers"/>, or the open loop (Buyers = its arrivals).</summary>
/// <param name="Connections">The tool's HTTP connections to the gateway at most (reused, as a browser does).</param>
/// <param name="MaxInFlight">Requests the tool keeps in flight at most; past it an arrival is counted as not sent.</param>
/// <param name="QueueWait">How long a buyer stays in the waiting room at most.</param>
internal sealed record FlashSaleOptions(
    int Buyers, int Seats, double PayShare, Uri Gateway, TimeSpan MaxDuration,
    OpenLoopOptions? OpenLoop = null, int Connections = 64, int MaxInFlight = 20_000, TimeSpan QueueWait = default)
{
    public const int MaxBuyers = 100_000;
    public const int MaxSeats = 100_000;

    /// <summary>Every reason the options cannot run; empty when they can.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Buyers is < 1 or > MaxBuyers)
        {
            errors.Add($"--buyers must be between 1 and {MaxBuyers}.");
        }

        if (Seats is < 1 or > MaxSeats)
        {
            errors.Add($"--seats must be between 1 and {MaxSeats}.");
        }

        if (double.IsNaN(PayShare) || PayShare is < 0 or > 1)
        {
            errors.Add("--pay-share must be between 0 and 1 (the share of successful buyers who pay).");
        }

        if (!Gateway.IsAbsoluteUri || Gateway.Scheme is not ("http" or "https"))
        {
            errors.Add("--gateway must be an absolute http(s) URL, e.g. http://127.0.0.1:5100.");
        }

        if (MaxDuration <= TimeSpan.Zero)
        {
            errors.Add("--max-duration must be positive, e.g. 5m.");
        }

        if (OpenLoop is { } rate && (double.IsNaN(rate.Rate) || rate.Rate <= 0 || rate.Duration <= TimeSpan.Zero))
        {
            errors.Add("--rate and --duration must be positive, e.g. --rate 200 --duration 30s.");
        }

        if (Connections < 1 || MaxInFlight < 1)
        {
            errors.Add("--connections must be positive.");
        }

        return errors;
    }
}

/// <summary>One order as order-service's database has it (read back through GET /orders of its buyer).</summary>
internal sealed record SoldOrder(Guid OrderId, string UserId, string Status, int Qty, DateTimeOffset ExpiresAt, IReadOnlyList<Guid> SeatIds)
{
    public bool IsLive => Status == OrderStatuses.Pending;
}

/// <summary>capacity = available + held + sold, as ticket-service (GetTicketType) or venue-service (GetSeatMap) count it.</summary>
internal sealed record Stock(int Capacity, int Available, int Held, int Sold)
{
    public bool Conserved => Available >= 0 && Held >= 0 && Sold >= 0 && Available + Held + Sold == Capacity;
}

/// <summary>What the buyers saw: every POST /orders answer and every payment.</summary>
internal sealed record ClientTally(
    IReadOnlyList<double> ReserveLatenciesMs,
    TimeSpan BuyPhase,
    int Reserved,
    int SoldOutAnswers,
    IReadOnlyDictionary<string, int> ReserveErrors,
    int PaymentsSucceeded,
    int PaymentErrors);

/// <summary>The JSON `load flash-sale --json` prints (snake_case).</summary>
internal sealed record FlashSaleResult(
    int Buyers,
    int Seats,
    double PayShare,
    double OrdersPerS,
    double ReserveP50Ms,
    double ReserveP99Ms,
    int Reserved,
    int SoldOutAnswers,
    IReadOnlyDictionary<string, int> ReserveErrors,
    int PaymentsSucceeded,
    int PaymentErrors,
    int Sold,
    int Paid,
    int Expired,
    int Cancelled,
    int Pending,
    int Oversold,
    bool ConservationOk,
    int StuckOrders,
    int LateOrders,
    double SettledS,
    IReadOnlyList<string> Violations,
    double DurationS,
    string EventId,
    string TicketId,
    string SeatPlanId)
{
    /// <summary>The run passed: nothing oversold, stock conserved and agreeing, every order ended by expires_at + grace.</summary>
    public bool Healthy => Oversold == 0 && ConservationOk && StuckOrders == 0 && LateOrders == 0;

    /// <summary>Buyers the waiting room answered with a queue place before their final answer.</summary>
    public int Queued { get; init; }

    /// <summary>From a queued buyer's first answer (their place) to being let in.</summary>
    public LatencySummary? TimeToAdmission { get; init; }

    /// <summary>Of the EXPIRED orders: ended_at − (expires_at + settle window), how long compensation took.</summary>
    public LatencySummary? EndLag { get; init; }

    /// <summary>The open loop's figures (latency from the scheduled send, per second); none for a closed burst.</summary>
    public OpenLoopSummary? OpenLoop { get; init; }

    public CpuUse? Cpu { get; init; }
}

/// <summary>The figures and the invariants of shared/DESIGN.md, from the services' own data.</summary>
internal static class FlashSaleReport
{
    /// <summary>
    /// True for the successful reservations that pay: spread evenly, so that of the first n
    /// successes floor(n × share) pay, whatever n turns out to be.
    /// </summary>
    public static bool ShouldPay(int successIndex, double share) =>
        Math.Floor(((successIndex + 1) * share) + 1e-9) > Math.Floor((successIndex * share) + 1e-9);

    /// <summary>Nearest-rank percentile (0 for no samples).</summary>
    public static double Percentile(IReadOnlyList<double> samples, double percentile)
    {
        if (samples.Count == 0)
        {
            return 0;
        }

        var sorted = samples.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>Rows of at most <paramref name="perRow"/> seats holding exactly <paramref name="seats"/>.</summary>
    public static IReadOnlyList<int> SeatRows(int seats, int perRow = 20) =>
        [.. Enumerable.Range(0, (seats + perRow - 1) / perRow).Select(row => Math.Min(perRow, seats - (row * perRow)))];

    /// <param name="lateOrders">Orders seen to end only after expires_at + grace (the saga was slow, yet got there).</param>
    /// <param name="settled">From the first POST /orders until the last reserved order was seen to end.</param>
    public static FlashSaleResult Summarize(
        FlashSaleOptions options, ClientTally tally, IReadOnlyList<SoldOrder> orders, Stock tickets, Stock seatMap,
        DateTimeOffset now, TimeSpan grace, TimeSpan duration, int lateOrders, TimeSpan settled, (string Event, string Ticket, string SeatPlan) ids)
    {
        var violations = new List<string>();
        var confirmed = orders.Where(o => o.Status == OrderStatuses.Confirmed).ToList();
        var live = orders.Where(o => o.IsLive).ToList();
        var confirmedQty = confirmed.Sum(o => o.Qty);

        if (!tickets.Conserved)
        {
            violations.Add($"ticket-service: available {tickets.Available} + held {tickets.Held} + sold {tickets.Sold} != capacity {tickets.Capacity}");
        }

        if (!seatMap.Conserved)
        {
            violations.Add($"venue-service: available {seatMap.Available} + held {seatMap.Held} + sold {seatMap.Sold} != seats {seatMap.Capacity}");
        }

        if (tickets.Capacity != options.Seats || seatMap.Capacity != options.Seats)
        {
            violations.Add($"capacity: ticket-service {tickets.Capacity}, venue-service {seatMap.Capacity}, created with {options.Seats}");
        }

        // Once every order has ended, sold stock is exactly the CONFIRMED orders in both services and
        // nothing is held. While a saga runs, its steps land in the services one after the other.
        var agrees = live.Count > 0 || (tickets.Sold == confirmedQty && seatMap.Sold == confirmedQty && tickets.Held == 0 && seatMap.Held == 0);
        if (!agrees)
        {
            violations.Add($"sold: ticket-service {tickets.Sold}, venue-service {seatMap.Sold}, CONFIRMED orders {confirmedQty}; held: ticket-service {tickets.Held}, venue-service {seatMap.Held}, with no order live");
        }

        var seatsTwice = confirmed.Concat(live).SelectMany(o => o.SeatIds).GroupBy(id => id).Sum(g => g.Count() - 1);
        if (seatsTwice > 0)
        {
            violations.Add($"{seatsTwice} seat(s) held or sold to more than one order");
        }

        // max_per_user is 1 on the load event: a buyer never owns two live or confirmed orders.
        var overLimit = confirmed.Concat(live).GroupBy(o => o.UserId).Count(g => g.Sum(o => o.Qty) > 1);
        if (overLimit > 0)
        {
            violations.Add($"{overLimit} buyer(s) over max_per_user 1");
        }

        var stuck = live.Count(o => now > o.ExpiresAt + grace);
        if (stuck > 0)
        {
            violations.Add($"{stuck} order(s) still live after expires_at + {grace.TotalSeconds:0} s");
        }

        if (lateOrders > 0)
        {
            violations.Add($"{lateOrders} order(s) ended only after expires_at + {grace.TotalSeconds:0} s");
        }

        var oversold = Math.Max(0, new[] { tickets.Sold, seatMap.Sold, confirmedQty }.Max() - options.Seats) + seatsTwice;
        var conservationOk = tickets.Conserved && seatMap.Conserved
            && tickets.Capacity == options.Seats && seatMap.Capacity == options.Seats
            && agrees && seatsTwice == 0;
        var answered = tally.ReserveLatenciesMs.Count;
        return new FlashSaleResult(
            options.Buyers,
            options.Seats,
            options.PayShare,
            OrdersPerS: tally.BuyPhase > TimeSpan.Zero ? Math.Round(answered / tally.BuyPhase.TotalSeconds, 1) : 0,
            ReserveP50Ms: Math.Round(Percentile(tally.ReserveLatenciesMs, 50), 1),
            ReserveP99Ms: Math.Round(Percentile(tally.ReserveLatenciesMs, 99), 1),
            tally.Reserved,
            tally.SoldOutAnswers,
            tally.ReserveErrors,
            tally.PaymentsSucceeded,
            tally.PaymentErrors,
            Sold: tickets.Sold,
            Paid: confirmed.Count,
            Expired: orders.Count(o => o.Status == OrderStatuses.Expired),
            Cancelled: orders.Count(o => o.Status == OrderStatuses.Cancelled),
            Pending: live.Count,
            oversold,
            conservationOk,
            stuck,
            lateOrders,
            Math.Round(settled.TotalSeconds, 1),
            violations,
            Math.Round(duration.TotalSeconds, 1),
            ids.Event,
            ids.Ticket,
            ids.SeatPlan);
    }
}
