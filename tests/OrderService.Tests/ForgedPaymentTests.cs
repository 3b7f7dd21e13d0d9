using TicketSaga.Contracts;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Testing;

namespace TicketSaga.OrderService.Tests;

/// <summary>Issue 11, defence in depth: a payment event confirms an order only when it pays what the order costs.</summary>
public sealed class ForgedPaymentTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    [Theory]
    [InlineData(1, "", "the wrong amount")]
    [InlineData(0, "USD", "the wrong currency")]
    public async Task A_payment_of_the_wrong_amount_or_currency_does_not_confirm_and_is_dead_lettered_with_the_reason(long extraMinor, string currency, string forgery)
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        var order = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!;
        var messageId = Guid.NewGuid().ToString();

        await system.PublishPaymentAsync(orderId, messageId, order.AmountMinor + extraMinor, currency == "" ? order.Currency : currency);

        var deadLetter = await system.DeadLetterOfAsync(messageId);
        Assert.True(deadLetter.LastError.Contains("does not match order " + orderId, StringComparison.Ordinal), $"the payment of {forgery}: {deadLetter.LastError}");
        Assert.Equal(DeadLetterReasons.DroppedByApp, deadLetter.Reason);
        var status = (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString();
        Assert.Equal(OrderStatuses.Pending, status);
        Assert.Equal((2, 0), ((await system.AvailabilityAsync(ticket)).Held, (await system.AvailabilityAsync(ticket)).Sold));
        Assert.DoesNotContain(await system.PublishedAsync(orderId), e => e.Topic == Topics.OrderCompleted);
        Assert.False(await system.OrderStore.HasHandledAsync(messageId, default));
    }

    [Fact]
    public async Task The_right_payment_after_a_forged_one_still_confirms()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;

        await system.PublishPaymentAsync(orderId, Guid.NewGuid().ToString(), 1, "EUR");
        await system.PublishPaymentAsync(orderId, Guid.NewGuid().ToString());

        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);
    }
}
