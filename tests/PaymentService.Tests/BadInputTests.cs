using System.Net;
using System.Net.Http.Json;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService.Tests;

public sealed class BadInputTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task Malformed_requests_answer_400_problems_and_change_nothing()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);
        await world.QuiesceAsync();
        var before = await world.SnapshotAsync();
        using var client = world.ClientFor(user);

        using var notAnId = await client.PostAsJsonAsync("/payments/confirm", new { order_id = "order-1", payment_method = "pm_card_visa" });
        using var noMethod = await client.PostAsJsonAsync("/payments/confirm", new { order_id = order.OrderId });

        await ResponseAssert.ProblemAsync(notAnId, HttpStatusCode.BadRequest, "invalid-request");
        await ResponseAssert.ProblemAsync(noMethod, HttpStatusCode.BadRequest, "invalid-request");
        Assert.Equal(before, await world.SnapshotAsync());
        Assert.Empty(world.IntentsOf(order.OrderId));
    }

    [Fact]
    public async Task A_payment_method_stripe_does_not_know_is_400_and_the_order_stays_payable()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);

        using var unknownMethod = await world.ConfirmAsync(user, order.OrderId, "pm_not_a_card");
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        await ResponseAssert.ProblemAsync(unknownMethod, HttpStatusCode.BadRequest, "invalid-payment-method");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(intent.Amount, intent.AmountReceived);
    }

    [Fact]
    public async Task An_unknown_order_is_404_and_one_whose_creation_has_not_arrived_is_409_with_retry_after()
    {
        var user = PaymentWorld.NewUser();
        var known = Guid.NewGuid();
        world.Orders.KnownOrders[known] = 0;
        await world.QuiesceAsync();
        var before = await world.SnapshotAsync();

        using var unknown = await world.ConfirmAsync(user, Guid.NewGuid(), "pm_card_visa");
        using var notYet = await world.ConfirmAsync(user, known, "pm_card_visa");

        await ResponseAssert.ProblemAsync(unknown, HttpStatusCode.NotFound, "order-not-found");
        await ResponseAssert.ProblemAsync(notYet, HttpStatusCode.Conflict, "order-not-yet-payable");
        Assert.NotNull(notYet.Headers.RetryAfter);
        Assert.Equal(before, await world.SnapshotAsync());
        Assert.Empty(world.IntentsOf(known));
    }

    [Fact]
    public async Task An_order_whose_creation_never_arrived_is_paid_on_order_services_word_and_a_stranger_is_told_it_does_not_exist()
    {
        var user = PaymentWorld.NewUser();
        var now = DateTimeOffset.UtcNow;
        var order = new OrderCreated(Guid.CreateVersion7(), user, Guid.NewGuid(), 1, [], 6100, "EUR", now.AddMinutes(15), now);
        // Placed while payment-service's database was away: orders.order.created went to the dead-letter queue.
        world.Orders.KnownOrders[order.OrderId] = 0;
        world.Orders.Statuses[order.OrderId] = OrderStatuses.Pending;
        world.Orders.Details[order.OrderId] = order;

        using var stranger = await world.ConfirmAsync(PaymentWorld.NewUser(), order.OrderId, "pm_card_visa");
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        await ResponseAssert.ProblemAsync(stranger, HttpStatusCode.NotFound, "order-not-found");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        Assert.Equal("SUCCEEDED", (await PaymentWorld.BodyAsync(paid)).GetProperty("status").GetString());
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal((6100L, "eur"), (intent.AmountReceived, intent.Currency));
        Assert.Equal(user, await world.ScalarAsync<string>("SELECT user_id FROM payments WHERE order_id = @order", order.OrderId));
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count == 1, "payments.payment.succeeded");
    }

    [Fact]
    public async Task An_order_that_ended_before_its_creation_arrived_is_not_payable_rather_than_not_yet()
    {
        var user = PaymentWorld.NewUser();
        var now = DateTimeOffset.UtcNow;
        var order = new OrderCreated(Guid.CreateVersion7(), user, Guid.NewGuid(), 1, [], 6100, "EUR", now.AddMinutes(15), now);
        world.Orders.KnownOrders[order.OrderId] = 0;
        world.Orders.Statuses[order.OrderId] = OrderStatuses.Cancelled;
        world.Orders.Details[order.OrderId] = order;

        using var ended = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        await ResponseAssert.ProblemAsync(ended, HttpStatusCode.Conflict, "order-not-payable");
        Assert.Null(ended.Headers.RetryAfter);
        Assert.Empty(world.IntentsOf(order.OrderId));
    }

    [Fact]
    public async Task An_expired_or_cancelled_order_is_409_and_never_charged()
    {
        var user = PaymentWorld.NewUser();
        var expired = await world.CreateOrderAsync(user, holdFor: TimeSpan.FromSeconds(-1));
        var cancelled = await world.CreateOrderAsync(user);
        await world.CancelOrderAsync(cancelled, CancellationReasons.CancelledByCustomer);
        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(cancelled.OrderId) == "CANCELLED", "the cancellation");
        await world.QuiesceAsync();
        var before = await world.SnapshotAsync();

        using var late = await world.ConfirmAsync(user, expired.OrderId, "pm_card_visa");
        using var ended = await world.ConfirmAsync(user, cancelled.OrderId, "pm_card_visa");

        await ResponseAssert.ProblemAsync(late, HttpStatusCode.Conflict, "order-not-payable");
        await ResponseAssert.ProblemAsync(ended, HttpStatusCode.Conflict, "order-not-payable");
        Assert.Empty(world.IntentsOf(expired.OrderId));
        Assert.Empty(world.IntentsOf(cancelled.OrderId));
        Assert.Equal(before, await world.SnapshotAsync());
    }

    [Fact]
    public async Task A_cancellation_that_overtakes_the_creation_leaves_an_order_that_cannot_be_paid()
    {
        var user = PaymentWorld.NewUser();
        var now = DateTimeOffset.UtcNow;
        var order = new OrderCreated(Guid.CreateVersion7(), user, Guid.NewGuid(), 1, [], 1000, "EUR", now.AddMinutes(15), now);
        world.Orders.Statuses[order.OrderId] = OrderStatuses.Expired;

        await world.Orders.PublishAsync(Topics.OrderCancelled, order.OrderId, new OrderCancelled(order.OrderId, user, CancellationReasons.Expired, now));
        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "CANCELLED", "the cancellation");
        await world.Orders.PublishAsync(Topics.OrderCreated, order.OrderId, order);
        await PaymentWorld.EventuallyAsync(async () => await world.ScalarAsync<long>("SELECT amount_minor FROM payments WHERE order_id = @order", order.OrderId) == 1000, "the creation");

        using var response = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        await ResponseAssert.ProblemAsync(response, HttpStatusCode.Conflict, "order-not-payable");
        Assert.Equal("CANCELLED", await world.PaymentStatusAsync(order.OrderId));
        Assert.Empty(world.IntentsOf(order.OrderId));
    }
}
