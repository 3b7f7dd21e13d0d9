using System.Net;
using TicketSaga.Contracts;
using TicketSaga.Testing;

namespace TicketSaga.PaymentService.Tests;

/// <summary>A world whose reconciler asks order-service a second after an order's deadline, every 200 ms.</summary>
public sealed class ReconcilingWorld(PostgresServer postgres) : PaymentWorld(postgres)
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("OrderReconciliation:After", "00:00:01"),
        new("OrderReconciliation:Interval", "00:00:00.200"),
    ];
}

/// <summary>
/// A message between order-service and payment-service that never arrived (dead-lettered after an
/// outage longer than its retries) leaves money and tickets apart only until the reconciler asks
/// order-service how the order ended.
/// </summary>
public sealed class OrderReconciliationTests(ReconcilingWorld world) : IClassFixture<ReconcilingWorld>
{
    [Fact]
    public async Task A_capture_whose_orders_cancellation_never_arrived_is_refunded()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 3700, holdFor: TimeSpan.FromSeconds(3));
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);

        // Its seats were gone at finalize: order-service ended it unsold and its orders.order.cancelled was lost.
        world.Orders.Ended(order.OrderId, CancellationReasons.PaymentAfterEnd);

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "REFUNDED", "the capture refunded");
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal((3700L, 3700L), (intent.AmountReceived, intent.AmountRefunded));
        Assert.Equal(CancellationReasons.PaymentAfterEnd, await world.ScalarAsync<string>("SELECT reason FROM refunds WHERE order_id = @order", order.OrderId));
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
    }

    [Fact]
    public async Task An_unpaid_order_is_asked_about_again_while_its_saga_decides_and_cancelled_once_it_ended()
    {
        var order = await world.CreateOrderAsync(PaymentWorld.NewUser(), holdFor: TimeSpan.FromSeconds(2));
        world.Orders.Statuses[order.OrderId] = OrderStatuses.Pending;

        // Claimed twice: asked, told PENDING, asked again.
        var firstAsked = await NextCheckAsync(order.OrderId, after: DateTime.MinValue);
        await NextCheckAsync(order.OrderId, after: firstAsked);
        Assert.Equal("PENDING", await world.PaymentStatusAsync(order.OrderId));
        Assert.Null(await world.ScalarAsync<DateTime?>("SELECT order_checked_at FROM payments WHERE order_id = @order", order.OrderId));

        world.Orders.Ended(order.OrderId, CancellationReasons.Expired);

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "CANCELLED", "the payment cancelled");
        Assert.Equal(CancellationReasons.Expired, await world.ScalarAsync<string>("SELECT cancellation_reason FROM payments WHERE order_id = @order", order.OrderId));
        Assert.Empty(world.IntentsOf(order.OrderId));
    }

    [Fact]
    public async Task A_sold_order_is_asked_about_once_and_keeps_its_money()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 1900, holdFor: TimeSpan.FromSeconds(3));
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        world.Orders.Statuses[order.OrderId] = OrderStatuses.Confirmed;

        await PaymentWorld.EventuallyAsync(
            async () => await world.ScalarAsync<DateTime?>("SELECT order_checked_at FROM payments WHERE order_id = @order", order.OrderId) is not null,
            "the payment checked against its order");
        Assert.Equal("SUCCEEDED", await world.PaymentStatusAsync(order.OrderId));
        Assert.Null(await world.ScalarAsync<DateTime?>("SELECT ended_at FROM payments WHERE order_id = @order", order.OrderId));
        Assert.Equal(0L, await world.ScalarAsync<long>("SELECT count(*) FROM payment_work WHERE order_id = @order", order.OrderId));
        Assert.Equal(0L, Assert.Single(world.IntentsOf(order.OrderId)).AmountRefunded);
    }

    [Fact]
    public async Task A_refund_order_service_did_not_take_is_announced_again_until_the_order_is_refunded()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 4400);
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        world.Orders.Statuses[order.OrderId] = OrderStatuses.Confirmed;
        var intent = Assert.Single(world.IntentsOf(order.OrderId));

        await StubServer.RefundFromDashboardAsync(world.Stub, intent.Id);

        // order-service keeps the order CONFIRMED, as if payments.payment.refunded had been dead-lettered.
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count >= 2, "payments.payment.refunded announced again");
        var announcements = world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded);
        Assert.Equal(announcements.Count, announcements.Select(e => e.Id).Distinct().Count());
        Assert.Single(announcements.Select(e => e.Data.GetProperty("refundId").GetString()).Distinct());
        Assert.All(announcements, e => Assert.Equal(4400L, e.Data.GetProperty("amountMinor").GetInt64()));
        // An announcement gives order-service the whole delay (1 s) before the next question, not just the pass interval.
        Assert.True(await world.ScalarAsync<bool>(
            """
            SELECT r.next_order_check_at >= o.announced_at + interval '1 second'
            FROM refunds r, LATERAL (SELECT max(created_at) AS announced_at FROM outbox WHERE order_id = r.order_id AND topic = 'payments.payment.refunded') o
            WHERE r.order_id = @order
            """, order.OrderId));

        world.Orders.Statuses[order.OrderId] = OrderStatuses.Refunded;

        await PaymentWorld.EventuallyAsync(
            async () => await world.ScalarAsync<DateTime?>("SELECT order_checked_at FROM refunds WHERE order_id = @order", order.OrderId) is not null,
            "the refund checked against its order");
        Assert.Equal(0L, await world.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE order_id = @order AND published_at IS NULL", order.OrderId));
    }

    /// <summary>Waits until the reconciler has claimed the payment after <paramref name="after"/>; answers when it will ask next.</summary>
    private async Task<DateTime> NextCheckAsync(Guid orderId, DateTime after)
    {
        DateTime next = default;
        await PaymentWorld.EventuallyAsync(async () =>
        {
            next = await world.ScalarAsync<DateTime?>("SELECT next_order_check_at FROM payments WHERE order_id = @order", orderId) ?? DateTime.MinValue;
            return next > after;
        }, "the reconciler asking about the order");
        return next;
    }
}
