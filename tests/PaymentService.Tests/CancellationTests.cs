using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;

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
    public async Task An_order_that_ends_before_any_payment_attempt_is_cancelled_at_once_with_no_work_left_for_Stripe()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);

        await world.CancelOrderAsync(order, CancellationReasons.Expired);

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "CANCELLED", "the cancellation");
        Assert.Equal(CancellationReasons.Expired, await world.ScalarAsync<string>("SELECT cancellation_reason FROM payments WHERE order_id = @order AND ended_at IS NOT NULL", order.OrderId));
        Assert.Equal(0L, await world.ScalarAsync<long>("SELECT count(*) FROM payment_work WHERE order_id = @order", order.OrderId));
        Assert.Empty(world.IntentsOf(order.OrderId));
    }

    [Fact]
    public async Task A_payment_with_an_intent_stays_as_it_was_until_Stripe_has_cancelled_the_intent()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);
        using var pending = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
        var status = await world.PaymentStatusAsync(order.OrderId);

        world.Stub.Faults.Down = true;
        try
        {
            await world.CancelOrderAsync(order, CancellationReasons.Expired);
            await PaymentWorld.EventuallyAsync(async () => await world.ScalarAsync<bool>("SELECT ended_at IS NOT NULL FROM payments WHERE order_id = @order", order.OrderId), "the end");
            Assert.Equal(status, await world.PaymentStatusAsync(order.OrderId));
        }
        finally
        {
            world.Stub.Faults.Down = false;
        }

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "CANCELLED", "the cancellation");
        Assert.Equal("canceled", Assert.Single(world.IntentsOf(order.OrderId)).Status);
    }

    [Theory]
    [InlineData(false, "nothing of its payment reached Stripe")]
    [InlineData(true, "its payment is settled by payment_work")]
    public async Task The_handler_wakes_the_work_runner_only_when_Stripe_has_something_to_settle(bool attempted, string logged)
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);
        if (attempted)
        {
            using var pending = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
            Assert.Equal(HttpStatusCode.OK, pending.StatusCode);
        }

        await using var dataSource = NpgsqlDataSource.Create(world.ConnectionString);
        var orderService = new SlowOrderService(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new { status = OrderStatuses.Expired }) });
        orderService.Answer.SetResult();
        using var orders = new HttpClient(orderService) { BaseAddress = new Uri("http://order-service") };
        var work = new PaymentWorkSignal();
        var log = new RecordingLogger<OrderCancellation>();
        var cancellation = new OrderCancellation(new PaymentStore(dataSource, new OutboxSignal()), new OrderLocks(dataSource),
            new OrderDirectory(orders, NullLogger<OrderDirectory>.Instance), work, log);

        Assert.Null(await cancellation.HandleAsync(Guid.NewGuid().ToString(), new OrderCancelled(order.OrderId, user, CancellationReasons.Expired, DateTimeOffset.UtcNow), cancellationToken));

        Assert.Equal(attempted, await WokenAsync(work));
        Assert.Contains(log.Messages, m => m.Contains(logged, StringComparison.Ordinal));
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

    [Fact]
    public async Task A_cancellation_waiting_for_order_service_holds_no_database_connection()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);
        // One connection, and a short wait for it: a handler that kept it would make the probe below fail.
        await using var oneConnection = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(world.ConnectionString) { MaxPoolSize = 1, Timeout = 2 }.ConnectionString);
        var orderService = new SlowOrderService(() => new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(new { status = OrderStatuses.Expired }) });
        using var orders = new HttpClient(orderService) { BaseAddress = new Uri("http://order-service") };
        var cancellation = new OrderCancellation(new PaymentStore(oneConnection, new OutboxSignal()), new OrderLocks(oneConnection),
            new OrderDirectory(orders, NullLogger<OrderDirectory>.Instance), new PaymentWorkSignal(), NullLogger<OrderCancellation>.Instance);

        var handling = cancellation.HandleAsync(Guid.NewGuid().ToString(), new OrderCancelled(order.OrderId, user, CancellationReasons.Expired, DateTimeOffset.UtcNow), cancellationToken);
        await orderService.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        await using (var probe = oneConnection.CreateCommand("SELECT status FROM payments WHERE order_id = @order"))
        {
            probe.Parameters.AddWithValue("order", order.OrderId);
            Assert.Equal("PENDING", await probe.ExecuteScalarAsync(cancellationToken));
        }

        orderService.Answer.SetResult();

        Assert.Null(await handling);
        await using var ended = oneConnection.CreateCommand("SELECT cancellation_reason FROM payments WHERE order_id = @order AND ended_at IS NOT NULL");
        ended.Parameters.AddWithValue("order", order.OrderId);
        Assert.Equal(CancellationReasons.Expired, await ended.ExecuteScalarAsync(cancellationToken));
    }

    /// <summary>Whether a wake-up is pending: a notified signal answers at once, any other never.</summary>
    private static async Task<bool> WokenAsync(WakeUpSignal signal)
    {
        using var giveUp = new CancellationTokenSource(TimeSpan.FromSeconds(1));
        try
        {
            await signal.WaitAsync(Timeout.InfiniteTimeSpan, giveUp.Token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
