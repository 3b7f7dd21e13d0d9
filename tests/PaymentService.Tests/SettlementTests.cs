using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.StripeStub;

namespace TicketSaga.PaymentService.Tests;

/// <summary>Issue 13 d and f: money of an ended order is settled at Stripe whatever goes wrong meanwhile, and never by guessing.</summary>
public sealed class SettlementTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task A_refund_that_meets_a_Stripe_outage_is_made_once_Stripe_is_back_and_nothing_is_dead_lettered()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 6400);
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);

        world.Stub.Faults.Down = true;
        try
        {
            await world.CancelOrderAsync(order, CancellationReasons.PaymentAfterEnd);
            // Longer than Stripe.net's own retries and the pub/sub delivery retries of the seed taken together.
            await Task.Delay(TimeSpan.FromSeconds(12));
        }
        finally
        {
            world.Stub.Faults.Down = false;
        }

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal((6400L, 6400L), (intent.AmountReceived, intent.AmountRefunded));
        Assert.Single(world.Stub.Ledger.Refunds, r => r.PaymentIntent == intent.Id);
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
        Assert.True(await world.ScalarAsync<int>("SELECT attempts FROM payment_work WHERE order_id = @order", order.OrderId) > 1, "the outage cost at least one attempt");
        Assert.Equal(0L, await DeadLettersAsync(order.OrderId));
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
    }

    [Fact]
    public async Task An_attempt_that_never_reached_Stripe_is_not_charged_when_the_order_ends()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 2900);

        // The first attempt's request never reaches Stripe: it stays in flight, with no PaymentIntent stored.
        world.Stub.Faults.Down = true;
        try
        {
            using var unanswered = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
            await ResponseAssert.ProblemAsync(unanswered, HttpStatusCode.ServiceUnavailable, "payment-provider-unavailable");
        }
        finally
        {
            world.Stub.Faults.Down = false;
        }

        Assert.True(await world.ScalarAsync<bool>("SELECT attempt_in_flight AND payment_intent_id IS NULL FROM payments WHERE order_id = @order", order.OrderId));
        await world.CancelOrderAsync(order, CancellationReasons.Expired);

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) is "REFUNDED" or "CANCELLED", "the cancellation settled");
        Assert.Equal("CANCELLED", await world.PaymentStatusAsync(order.OrderId));
        var intents = world.IntentsOf(order.OrderId);
        Assert.DoesNotContain(intents, i => i.AmountReceived > 0);
        Assert.DoesNotContain(world.Stub.Ledger.Refunds, r => intents.Any(i => i.Id == r.PaymentIntent));
        Assert.Empty(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
    }

    [Fact]
    public async Task A_cancellation_while_a_confirm_is_unanswered_asks_Stripe_and_refunds_the_money_it_took()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 3900);

        // Stripe captures the money, but neither the confirm's answer nor (yet) its webhook reaches payment-service.
        world.Stub.Events.Hold();
        await world.ConfirmWithAnswerLostAsync(user, order.OrderId, "pm_card_visa");

        // The intent was stored before its confirm was sent: the end asks Stripe about it, and replays nothing.
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(intent.Id, await world.ScalarAsync<string>("SELECT payment_intent_id FROM payments WHERE order_id = @order AND attempt_in_flight", order.OrderId));
        await world.CancelOrderAsync(order, CancellationReasons.Expired);

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) is "REFUNDED" or "CANCELLED", "the cancellation settled");
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
        intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal((3900L, 3900L), (intent.AmountReceived, intent.AmountRefunded));
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        Assert.Empty(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));

        world.Stub.Events.Release();
        await world.QuiesceAsync();
        Assert.Single(world.Stub.Ledger.Refunds, r => r.PaymentIntent == intent.Id);
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
    }

    [Fact]
    public async Task A_cancellation_racing_the_creation_of_the_payment_leaves_it_unpayable()
    {
        var user = PaymentWorld.NewUser();
        var order = new OrderCreated(Guid.CreateVersion7(), user, Guid.NewGuid(), 1, [], 4200, "EUR", DateTimeOffset.UtcNow.AddMinutes(15), DateTimeOffset.UtcNow);
        world.Orders.KnownOrders[order.OrderId] = 0;
        var inboxBefore = await world.ScalarAsync<long>("SELECT count(*) FROM inbox", Guid.Empty);

        // orders.order.created is being written (its transaction not yet committed) when the cancellation is handled.
        await using var creation = new NpgsqlConnection(world.ConnectionString);
        await creation.OpenAsync();
        await using var transaction = await creation.BeginTransactionAsync();
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO payments (payment_id, order_id, idempotency_key, user_id, amount_minor, currency, expires_at, status)
            VALUES (@payment, @order, @order::text, @user, 4200, 'EUR', @expires, 'PENDING')
            """, creation, transaction))
        {
            insert.Parameters.AddWithValue("payment", Guid.CreateVersion7());
            insert.Parameters.AddWithValue("order", order.OrderId);
            insert.Parameters.AddWithValue("user", user);
            insert.Parameters.AddWithValue("expires", order.ExpiresAt);
            await insert.ExecuteNonQueryAsync();
        }

        await world.CancelOrderAsync(order, CancellationReasons.CancelledByCustomer);
        await PaymentWorld.EventuallyAsync(async () => await WaitingForALockAsync(), "the cancellation waiting for the payment row being created");
        await transaction.CommitAsync();
        await PaymentWorld.EventuallyAsync(async () => await world.ScalarAsync<long>("SELECT count(*) FROM inbox", Guid.Empty) > inboxBefore,
            "the cancellation handled");

        using var confirm = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        await ResponseAssert.ProblemAsync(confirm, HttpStatusCode.Conflict, "order-not-payable");
        Assert.Empty(world.IntentsOf(order.OrderId));
        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "CANCELLED", "the payment cancelled");
    }

    [Fact]
    public async Task Runners_of_several_replicas_never_work_one_order_twice()
    {
        var services = world.Payments.Services;
        var replicas = Enumerable.Range(0, 2).Select(_ => new PaymentWorkRunner(
            services.GetRequiredService<NpgsqlDataSource>(), new OrderLocks(services.GetRequiredService<NpgsqlDataSource>()), services.GetRequiredService<PaymentSettlement>(), new PaymentWorkSignal(),
            services.GetRequiredService<IOptions<PaymentWorkOptions>>(), NullLogger<PaymentWorkRunner>.Instance)).ToList();
        foreach (var replica in replicas)
        {
            await replica.StartAsync(CancellationToken.None);
        }

        try
        {
            var orders = new List<OrderCreated>();
            for (var i = 0; i < 8; i++)
            {
                var user = PaymentWorld.NewUser();
                var order = await world.CreateOrderAsync(user, amountMinor: 1000 + i);
                using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
                Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
                orders.Add(order);
            }

            await Task.WhenAll(orders.Select(order => world.CancelOrderAsync(order, CancellationReasons.PaymentAfterEnd)));

            foreach (var order in orders)
            {
                await PaymentWorld.EventuallyAsync(async () => await world.ScalarAsync<bool>("SELECT settled_at IS NOT NULL FROM payment_work WHERE order_id = @order", order.OrderId),
                    "the work of every order settled");
                Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
                Assert.Equal(1, await world.ScalarAsync<int>("SELECT attempts FROM payment_work WHERE order_id = @order", order.OrderId));
                var intent = Assert.Single(world.IntentsOf(order.OrderId));
                Assert.Single(world.Stub.Ledger.Refunds, r => r.PaymentIntent == intent.Id);
            }
        }
        finally
        {
            foreach (var replica in replicas)
            {
                await replica.StopAsync(CancellationToken.None);
                replica.Dispose();
            }
        }
    }

    private async Task<bool> WaitingForALockAsync()
    {
        await using var connection = new NpgsqlConnection(world.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'", connection);
        return (long)(await command.ExecuteScalarAsync())! > 0;
    }

    private async Task<long> DeadLettersAsync(Guid orderId)
    {
        await using var connection = new NpgsqlConnection(world.RuntimeConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT count(*) FROM pubsub_dead_letters WHERE app_id = 'payment-service' AND cloud_event->'data'->>'orderId' = @order", connection);
        command.Parameters.AddWithValue("order", orderId.ToString());
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
