using System.Net;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService.Tests;

public sealed class CancellationTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task A_payment_after_the_order_ended_is_refunded_in_full_and_publishes_payments_payment_refunded()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 7300);
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);

        await world.CancelOrderAsync(order, CancellationReasons.PaymentAfterEnd);

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        var refunded = Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
        Assert.Equal(7300, refunded.Data.GetProperty("amountMinor").GetInt64());
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(intent.AmountReceived, intent.AmountRefunded);
        var refund = Assert.Single(world.Stub.Ledger.Refunds, r => r.PaymentIntent == intent.Id);
        Assert.Equal(refund.Id, refunded.Data.GetProperty("refundId").GetString());
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
        Assert.Equal(1L, await world.ScalarAsync<long>("SELECT count(*) FROM refunds WHERE order_id = @order AND amount_minor = 7300", order.OrderId));
    }

    [Fact]
    public async Task An_order_cancelled_before_it_was_paid_cancels_its_payment_intent()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);
        using var pending = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
        Assert.Equal(HttpStatusCode.OK, pending.StatusCode);

        await world.CancelOrderAsync(order, CancellationReasons.Expired);

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "CANCELLED", "the cancellation");
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(("canceled", 0L), (intent.Status, intent.AmountReceived));
        Assert.Empty(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
    }

    [Fact]
    public async Task Money_captured_while_the_order_expired_is_refunded_and_never_announced_as_a_sale()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);
        using var pending = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
        var intentId = (await PaymentWorld.BodyAsync(pending)).GetProperty("payment_intent_id").GetString()!;

        // The customer finishes 3D Secure, but Stripe's webhook is still on its way when the order expires.
        world.Stub.Events.Hold();
        await StubServer.CompleteAuthenticationAsync(world.Stub, intentId, succeed: true);
        await world.CancelOrderAsync(order, CancellationReasons.Expired);
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        world.Stub.Events.Release();
        await PaymentWorld.EventuallyAsync(() => world.Stub.Events.Deliveries.Any(d => d.Type == "payment_intent.succeeded" && d.StatusCode == 200
            && world.Stub.Events.Events.Any(e => e.Id == d.EventId && e.Json.Contains(intentId, StringComparison.Ordinal))), "the late webhook");

        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(intent.AmountReceived, intent.AmountRefunded);
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
        Assert.Empty(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
    }
}
