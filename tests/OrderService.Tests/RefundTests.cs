using System.Net;
using TicketSaga.Contracts;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Tests;

/// <summary>Issue 13 c: a refund ends a CONFIRMED order REFUNDED and gives its quota and seats back; nothing else.</summary>
public sealed class RefundTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    private static string NewMessageId() => Guid.NewGuid().ToString();

    private async Task<string> ConfirmedOrderAsync(HttpClient customer, TicketType ticket, int qty)
    {
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty })).GetProperty("order_id").GetString()!;
        await system.PublishPaymentAsync(orderId, NewMessageId());
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);
        return orderId;
    }

    [Fact]
    public async Task A_refund_of_a_confirmed_order_ends_it_refunded_with_its_quota_and_seats_back_in_stock_once()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var orderId = await ConfirmedOrderAsync(customer, ticket, 2);
        var refundId = NewMessageId();

        await system.PublishRefundAsync(orderId, refundId);

        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Refunded);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 0, 0), (availability.Available, availability.Held, availability.Sold));
        Assert.All((await system.SeatsAsync(plan)).Values, s => Assert.Equal(SeatStatus.Available, s.Status));
        await Eventually.HoldsAsync(async () => (await system.OutboxAsync(orderId)).All(r => r.Published), "the outbox drained");
        Assert.Equal([Topics.OrderCreated, Topics.OrderCompleted, Topics.OrderRefunded], (await system.PublishedAsync(orderId)).Select(e => e.Topic));
        var refunded = (await system.PublishedAsync(orderId))[^1].Data;
        Assert.Equal(7_000 * 2, refunded.GetProperty("amountMinor").GetInt64());

        // The same message again, and another message of the same refund: nothing changes twice.
        await system.PublishRefundAsync(orderId, refundId);
        var again = NewMessageId();
        await system.PublishRefundAsync(orderId, again);
        await Eventually.HoldsAsync(() => system.OrderStore.HasHandledAsync(again, default), "the second refund message handled");
        await Eventually.HoldsAsync(async () => (await system.OutboxAsync(orderId)).All(r => r.Published), "the outbox drained");
        Assert.Equal([Topics.OrderCreated, Topics.OrderCompleted, Topics.OrderRefunded], (await system.PublishedAsync(orderId)).Select(e => e.Topic));
        availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 0, 0), (availability.Available, availability.Held, availability.Sold));
        Assert.Equal(HttpStatusCode.Conflict, (await customer.DeleteAsync($"/orders/{orderId}")).StatusCode);
    }

    [Fact]
    public async Task A_refund_of_an_expired_order_changes_nothing()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        await system.PublishExpiryAsync(orderId, NewMessageId());
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Expired);
        // The late payment is answered with PAYMENT_AFTER_END; payment-service's refund of it comes back.
        await system.PublishPaymentAsync(orderId, NewMessageId());
        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Any(e => e.Reason == CancellationReasons.PaymentAfterEnd),
            "the PAYMENT_AFTER_END answer");
        var refundId = NewMessageId();

        await system.PublishRefundAsync(orderId, refundId);

        await Eventually.HoldsAsync(() => system.OrderStore.HasHandledAsync(refundId, default), "the refund handled");
        await Eventually.HoldsAsync(async () => (await system.OutboxAsync(orderId)).All(r => r.Published), "the outbox drained");
        Assert.Equal(OrderStatuses.Expired, (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString());
        Assert.DoesNotContain(await system.PublishedAsync(orderId), e => e.Topic == Topics.OrderRefunded);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task A_refund_of_the_wrong_amount_changes_nothing_and_is_dead_lettered_with_the_reason()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var orderId = await ConfirmedOrderAsync(customer, ticket, 2);
        var forged = NewMessageId();

        await system.PublishRefundAsync(orderId, forged, amountMinor: 1);

        var deadLetter = await system.DeadLetterOfAsync(forged);
        Assert.Equal(DeadLetterReasons.DroppedByApp, deadLetter.Reason);
        Assert.Contains("does not match order " + orderId, deadLetter.LastError, StringComparison.Ordinal);
        Assert.False(await system.OrderStore.HasHandledAsync(forged, default));
        Assert.Equal(OrderStatuses.Confirmed, (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString());
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((6, 0, 2), (availability.Available, availability.Held, availability.Sold));
        Assert.Equal(2, (await system.SeatsAsync(plan)).Values.Count(s => s.Status == SeatStatus.Sold));
        Assert.DoesNotContain(await system.PublishedAsync(orderId), e => e.Topic == Topics.OrderRefunded);
    }

    [Fact]
    public async Task A_refund_recorded_whose_return_never_started_is_finished_by_the_sweeper()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = await ConfirmedOrderAsync(customer, ticket, 3);
        var order = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!;

        // As if the process died right after the refund's inbox row committed, before its workflow started.
        var recorded = await system.OrderStore.RecordRefundAsync(NewMessageId(),
            new PaymentRefunded(order.OrderId, Guid.CreateVersion7(), "pi_crashed", "re_crashed", order.AmountMinor, order.Currency, DateTimeOffset.UtcNow), default);

        Assert.Equal(OrderStatuses.Confirmed, recorded);
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Refunded);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task A_refund_that_overtakes_the_confirmation_still_ends_the_order_refunded()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var refundId = NewMessageId();

        await system.PublishRefundAsync(orderId, refundId);
        await Eventually.HoldsAsync(() => system.OrderStore.HasHandledAsync(refundId, default), "the refund handled");
        Assert.Equal(OrderStatuses.Pending, (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString());
        await system.PublishPaymentAsync(orderId, NewMessageId());

        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Refunded);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
    }
}
