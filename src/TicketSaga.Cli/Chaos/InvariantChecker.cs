namespace TicketSaga.Cli.Chaos;

/// <summary>An order of the chaos run's ticket type, as order-service keeps it.</summary>
internal sealed record ChaosOrder(Guid OrderId, string Status, DateTimeOffset ExpiresAt, Guid ReservationId, int Qty);

/// <summary>A quota reservation in ticket-service (HELD, SOLD, RELEASED, RETURNED).</summary>
internal sealed record QuotaHold(Guid ReservationId, string Status, int Qty);

/// <summary>A seat reservation in venue-service and the seats that point at it now.</summary>
internal sealed record SeatHold(Guid ReservationId, string Status, int Quantity, int SeatsHeld, int SeatsSold);

/// <summary>A PaymentIntent in the Stripe stub's ledger (its journal) and the order its metadata names.</summary>
internal sealed record StripeCharge(string PaymentIntentId, Guid? OrderId, string Status, long AmountReceived, long AmountRefunded)
{
    public long Kept => AmountReceived - AmountRefunded;
}

/// <summary>One ticket type's or one seat plan's counters.</summary>
internal sealed record StockCount(int Capacity, int Available, int Held, int Sold);

/// <summary>A pub/sub dead letter recorded during the run, with the order its event names.</summary>
internal sealed record ChaosDeadLetter(string AppId, string Topic, string Reason, string LastError, Guid? OrderId);

/// <summary>Everything the checker reads once the system has settled.</summary>
internal sealed record ChaosState(
    IReadOnlyList<ChaosOrder> Orders,
    IReadOnlyList<QuotaHold> QuotaHolds,
    IReadOnlyList<SeatHold> SeatHolds,
    IReadOnlyList<StripeCharge> Charges,
    StockCount Tickets,
    StockCount Seats,
    IReadOnlyList<ChaosDeadLetter> DeadLetters,
    DateTimeOffset Now,
    TimeSpan SettleWindow);

/// <summary>A broken invariant: which order (none for a whole-stock one), which rule, what was seen.</summary>
internal sealed record Violation(Guid? OrderId, string Invariant, string Detail);

/// <summary>
/// The invariants of docs/architecture.md, checked from the services' own data and Stripe's ledger:
/// money ⇔ tickets for every order, conservation in ticket- and venue-service, no order stuck past
/// its deadline, and every dead letter explained.
/// </summary>
internal static class InvariantChecker
{
    public const string MoneyAndTickets = "money-and-tickets";
    public const string Conservation = "conservation";
    public const string NoStuckOrder = "no-stuck-order";
    public const string DeadLetterExplained = "dead-letter-explained";

    /// <summary>What a stuck order is given beyond expires_at + the settle window (sweeps run every settle window).</summary>
    public static readonly TimeSpan StuckGrace = TimeSpan.FromSeconds(60);

    public static IReadOnlyList<Violation> Check(ChaosState state)
    {
        var violations = new List<Violation>();
        var quota = state.QuotaHolds.ToDictionary(h => h.ReservationId);
        var seats = state.SeatHolds.ToDictionary(h => h.ReservationId);
        var charges = state.Charges.Where(c => c.OrderId is not null).ToLookup(c => c.OrderId!.Value);
        var orders = state.Orders.ToDictionary(o => o.OrderId);

        foreach (var order in state.Orders)
        {
            var quotaHold = quota.GetValueOrDefault(order.ReservationId);
            var seatHold = seats.GetValueOrDefault(order.ReservationId);
            var ofOrder = charges[order.OrderId].ToList();
            var kept = ofOrder.Where(c => c.Kept > 0).ToList();
            void Broken(string invariant, string detail) => violations.Add(new Violation(order.OrderId, invariant, detail));
            var stock = $"quota {quotaHold?.Status ?? "none"}, seats {seatHold?.Status ?? "none"} ({seatHold?.SeatsHeld ?? 0} held, {seatHold?.SeatsSold ?? 0} sold)";
            var money = $"{kept.Count} captured unrefunded of {ofOrder.Count} PaymentIntents";

            switch (order.Status)
            {
                case "CONFIRMED":
                    if (kept.Count != 1 || kept[0].Kept <= 0)
                    {
                        Broken(MoneyAndTickets, $"CONFIRMED with {money}");
                    }

                    if (quotaHold?.Status != "SOLD" || seatHold?.Status != "SOLD" || seatHold.SeatsSold != order.Qty || quotaHold.Qty != order.Qty)
                    {
                        Broken(MoneyAndTickets, $"CONFIRMED but {stock}");
                    }

                    break;
                case "EXPIRED" or "CANCELLED" or "REFUNDED":
                    if (kept.Count > 0)
                    {
                        Broken(MoneyAndTickets, $"{order.Status} with money kept: {money} ({string.Join(", ", kept.Select(c => c.PaymentIntentId))})");
                    }

                    if (order.Status == "REFUNDED" && !ofOrder.Any(c => c.AmountRefunded > 0))
                    {
                        Broken(MoneyAndTickets, "REFUNDED without a refund at Stripe");
                    }

                    if (quotaHold?.Status is "HELD" or "SOLD" || seatHold?.Status is "HELD" or "SOLD" || seatHold?.SeatsHeld > 0 || seatHold?.SeatsSold > 0)
                    {
                        Broken(MoneyAndTickets, $"{order.Status} but stock not back: {stock}");
                    }

                    break;
                default:
                    if (state.Now > order.ExpiresAt + state.SettleWindow + StuckGrace)
                    {
                        Broken(NoStuckOrder, $"{order.Status} {(state.Now - order.ExpiresAt).TotalSeconds:0} s after expires_at (settle window {state.SettleWindow.TotalSeconds:0} s); {money}; {stock}");
                    }

                    break;
            }
        }

        foreach (var charge in state.Charges.Where(c => c.Kept > 0 && (c.OrderId is not { } id || !orders.ContainsKey(id))))
        {
            violations.Add(new Violation(charge.OrderId, MoneyAndTickets, $"{charge.PaymentIntentId} keeps {charge.Kept} for no order of this run"));
        }

        CheckConservation(state, violations);
        foreach (var deadLetter in state.DeadLetters.Where(d => !Explained(d, violations)))
        {
            violations.Add(new Violation(deadLetter.OrderId, DeadLetterExplained,
                $"{deadLetter.Topic} to {deadLetter.AppId} dead-lettered ({deadLetter.Reason}): {deadLetter.LastError}"));
        }

        return violations;
    }

    private static void CheckConservation(ChaosState state, List<Violation> violations)
    {
        void Broken(string detail) => violations.Add(new Violation(null, Conservation, detail));
        foreach (var (name, stock) in new[] { ("ticket type", state.Tickets), ("seat plan", state.Seats) })
        {
            if (stock.Available + stock.Held + stock.Sold != stock.Capacity)
            {
                Broken($"{name}: available {stock.Available} + held {stock.Held} + sold {stock.Sold} != capacity {stock.Capacity}");
            }
        }

        var quotaSold = state.QuotaHolds.Where(h => h.Status == "SOLD").Sum(h => h.Qty);
        var quotaHeld = state.QuotaHolds.Where(h => h.Status == "HELD").Sum(h => h.Qty);
        if (state.Tickets.Sold != quotaSold || state.Tickets.Held != quotaHeld)
        {
            Broken($"ticket type counts sold {state.Tickets.Sold}, held {state.Tickets.Held}; its reservations sold {quotaSold}, held {quotaHeld}");
        }

        var seatsSold = state.SeatHolds.Sum(h => h.SeatsSold);
        var seatsHeld = state.SeatHolds.Sum(h => h.SeatsHeld);
        if (state.Seats.Sold != seatsSold || state.Seats.Held != seatsHeld)
        {
            Broken($"seat plan counts sold {state.Seats.Sold}, held {state.Seats.Held}; seats of its reservations sold {seatsSold}, held {seatsHeld}");
        }

        foreach (var hold in state.SeatHolds.Where(h => (h.SeatsSold > 0 && h.Status != "SOLD") || (h.SeatsHeld > 0 && h.Status != "HELD")))
        {
            Broken($"seat reservation {hold.ReservationId} is {hold.Status} but {hold.SeatsHeld} seats held and {hold.SeatsSold} sold point at it");
        }

        var confirmed = state.Orders.Where(o => o.Status == "CONFIRMED").Sum(o => o.Qty);
        if (confirmed != state.Tickets.Sold || confirmed != state.Seats.Sold)
        {
            Broken($"{confirmed} tickets CONFIRMED, ticket-service sold {state.Tickets.Sold}, venue-service sold {state.Seats.Sold}");
        }
    }

    /// <summary>
    /// A dead letter is explained when the app itself refused the message (DROP, with its reason) and the
    /// order it names ended with money and tickets agreeing; one that ran out of retries or found no route
    /// means the system gave up on something.
    /// </summary>
    private static bool Explained(ChaosDeadLetter deadLetter, List<Violation> violations) =>
        deadLetter.Reason == "dropped by app"
        && !violations.Any(v => v.OrderId is { } id && id == deadLetter.OrderId && v.Invariant == MoneyAndTickets);
}
