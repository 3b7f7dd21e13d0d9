using TicketSaga.Cli.Chaos;

namespace TicketSaga.Cli.Tests;

/// <summary>The chaos run's verdict: a healthy settled state passes, and each broken invariant is named with its order.</summary>
public sealed class ChaosInvariantCheckerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);
    private static readonly Guid Confirmed = Guid.NewGuid();
    private static readonly Guid Expired = Guid.NewGuid();
    private static readonly Guid Refunded = Guid.NewGuid();

    /// <summary>One order of each ending, each consistent: 1 sold of 3 seats.</summary>
    private static ChaosState Healthy()
    {
        var orders = new[]
        {
            new ChaosOrder(Confirmed, "CONFIRMED", Now.AddMinutes(-5), Reservation(Confirmed), 1),
            new ChaosOrder(Expired, "EXPIRED", Now.AddMinutes(-5), Reservation(Expired), 1),
            new ChaosOrder(Refunded, "REFUNDED", Now.AddMinutes(-5), Reservation(Refunded), 1),
        };
        return new ChaosState(
            orders,
            [new QuotaHold(Reservation(Confirmed), "SOLD", 1), new QuotaHold(Reservation(Expired), "RELEASED", 1), new QuotaHold(Reservation(Refunded), "RETURNED", 1)],
            [new SeatHold(Reservation(Confirmed), "SOLD", 1, 0, 1), new SeatHold(Reservation(Expired), "RELEASED", 1, 0, 0), new SeatHold(Reservation(Refunded), "RETURNED", 1, 0, 0)],
            [
                new StripeCharge("pi_confirmed", Confirmed, "succeeded", 2500, 0),
                new StripeCharge("pi_declined", Confirmed, "canceled", 0, 0),
                new StripeCharge("pi_late", Expired, "succeeded", 2500, 2500),
                new StripeCharge("pi_refunded", Refunded, "succeeded", 2500, 2500),
            ],
            new StockCount(3, 2, 0, 1),
            new StockCount(3, 2, 0, 1),
            [],
            Now,
            TimeSpan.FromSeconds(10));
    }

    private static readonly Dictionary<Guid, Guid> Reservations = new() { [Confirmed] = Guid.NewGuid(), [Expired] = Guid.NewGuid(), [Refunded] = Guid.NewGuid() };

    private static Guid Reservation(Guid orderId) => Reservations[orderId];

    [Fact]
    public void A_settled_state_where_money_and_tickets_agree_breaks_nothing() =>
        Assert.Empty(InvariantChecker.Check(Healthy()));

    [Fact]
    public void A_confirmed_order_charged_twice_is_named()
    {
        var state = Healthy() with { Charges = [.. Healthy().Charges, new StripeCharge("pi_twice", Confirmed, "succeeded", 2500, 0)] };

        var violation = Assert.Single(InvariantChecker.Check(state));

        Assert.Equal((Confirmed, InvariantChecker.MoneyAndTickets), (violation.OrderId, violation.Invariant));
    }

    [Fact]
    public void An_expired_order_whose_late_capture_was_never_refunded_is_named()
    {
        var state = Healthy() with { Charges = [.. Healthy().Charges.Where(c => c.PaymentIntentId != "pi_late"), new StripeCharge("pi_late", Expired, "succeeded", 2500, 0)] };

        var violation = Assert.Single(InvariantChecker.Check(state));

        Assert.Equal((Expired, InvariantChecker.MoneyAndTickets), (violation.OrderId, violation.Invariant));
        Assert.Contains("pi_late", violation.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void A_confirmed_order_whose_seats_were_reclaimed_is_named_and_breaks_conservation()
    {
        var state = Healthy() with
        {
            SeatHolds = [.. Healthy().SeatHolds.Where(h => h.ReservationId != Reservation(Confirmed)), new SeatHold(Reservation(Confirmed), "RELEASED", 1, 0, 0)],
            Seats = new StockCount(3, 3, 0, 0),
        };

        var violations = InvariantChecker.Check(state);

        Assert.Contains(violations, v => v.OrderId == Confirmed && v.Invariant == InvariantChecker.MoneyAndTickets);
        Assert.Contains(violations, v => v.OrderId is null && v.Invariant == InvariantChecker.Conservation);
    }

    [Fact]
    public void A_refunded_order_that_kept_its_quota_sold_is_named()
    {
        var state = Healthy() with
        {
            QuotaHolds = [.. Healthy().QuotaHolds.Where(h => h.ReservationId != Reservation(Refunded)), new QuotaHold(Reservation(Refunded), "SOLD", 1)],
            Tickets = new StockCount(3, 1, 0, 2),
        };

        var violations = InvariantChecker.Check(state);

        Assert.Contains(violations, v => v.OrderId == Refunded && v.Invariant == InvariantChecker.MoneyAndTickets);
        Assert.Contains(violations, v => v.Invariant == InvariantChecker.Conservation);
    }

    [Fact]
    public void An_order_pending_long_after_its_deadline_is_stuck_but_one_within_its_settle_window_is_not()
    {
        var stuck = Guid.NewGuid();
        var young = Guid.NewGuid();
        var state = Healthy() with
        {
            Orders = [.. Healthy().Orders, new ChaosOrder(stuck, "PENDING", Now.AddMinutes(-10), Guid.NewGuid(), 1), new ChaosOrder(young, "PENDING", Now.AddSeconds(-5), Guid.NewGuid(), 1)],
        };

        var violation = Assert.Single(InvariantChecker.Check(state));

        Assert.Equal((stuck, InvariantChecker.NoStuckOrder), (violation.OrderId, violation.Invariant));
    }

    [Fact]
    public void A_message_that_ran_out_of_retries_is_unexplained_but_a_drop_of_a_consistent_order_is_explained()
    {
        var state = Healthy() with
        {
            DeadLetters =
            [
                new ChaosDeadLetter("order-service", "payments.payment.succeeded", "retries exhausted", "POST answered 500", Expired),
                new ChaosDeadLetter("payment-service", "orders.order.created", "dropped by app", "the app answered DROP: unknown order", Confirmed),
            ],
        };

        var violation = Assert.Single(InvariantChecker.Check(state));

        Assert.Equal((Expired, InvariantChecker.DeadLetterExplained), (violation.OrderId, violation.Invariant));
    }

    [Fact]
    public void Money_kept_for_an_order_nobody_knows_is_named()
    {
        var stray = Guid.NewGuid();
        var state = Healthy() with { Charges = [.. Healthy().Charges, new StripeCharge("pi_stray", stray, "succeeded", 2500, 0)] };

        var violation = Assert.Single(InvariantChecker.Check(state));

        Assert.Equal((stray, InvariantChecker.MoneyAndTickets), (violation.OrderId, violation.Invariant));
    }
}
