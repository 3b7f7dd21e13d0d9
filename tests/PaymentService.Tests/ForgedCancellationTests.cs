using System.Net;
using Npgsql;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService.Tests;

/// <summary>Issue 11, defence in depth: payment-service gives money back only for an order that has really ended.</summary>
public sealed class ForgedCancellationTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Theory]
    [InlineData(OrderStatuses.Confirmed, CancellationReasons.PaymentAfterEnd)]
    [InlineData(OrderStatuses.Confirmed, CancellationReasons.Expired)]
    [InlineData(OrderStatuses.Pending, CancellationReasons.CancelledByCustomer)]
    public async Task A_cancellation_of_an_order_that_has_not_ended_refunds_nothing_and_is_dead_lettered_with_the_reason(string status, string reason)
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 5100);
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        await world.QuiesceAsync();
        world.Orders.Statuses[order.OrderId] = status;
        var before = await world.SnapshotAsync();

        await world.Orders.PublishAsync(Topics.OrderCancelled, order.OrderId, new OrderCancelled(order.OrderId, user, reason, DateTimeOffset.UtcNow));

        var lastError = await DeadLetterAsync(order.OrderId);
        Assert.Contains($"order-service says the order is {status}", lastError, StringComparison.Ordinal);
        Assert.Contains("refused", lastError, StringComparison.Ordinal);
        Assert.Equal("SUCCEEDED", await world.PaymentStatusAsync(order.OrderId));
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal((5100L, 0L), (intent.AmountReceived, intent.AmountRefunded));
        Assert.DoesNotContain(world.Stub.Ledger.Refunds, r => r.PaymentIntent == intent.Id);
        Assert.Empty(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
        Assert.Equal(before, await world.SnapshotAsync());
    }

    [Fact]
    public async Task The_same_cancellation_once_the_order_has_ended_refunds()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 2600);
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);

        await world.CancelOrderAsync(order, CancellationReasons.PaymentAfterEnd);

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
    }

    /// <summary>The last error of payment-service's dead-lettered orders.order.cancelled for the order, once it is there.</summary>
    private async Task<string> DeadLetterAsync(Guid orderId)
    {
        string? lastError = null;
        await PaymentWorld.EventuallyAsync(async () =>
        {
            await using var connection = new NpgsqlConnection(world.RuntimeConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                """
                SELECT last_error FROM pubsub_dead_letters
                WHERE app_id = 'payment-service' AND topic = @topic AND cloud_event->'data'->>'orderId' = @order
                """, connection);
            command.Parameters.AddWithValue("topic", Topics.OrderCancelled);
            command.Parameters.AddWithValue("order", orderId.ToString());
            lastError = await command.ExecuteScalarAsync() as string;
            return lastError is not null;
        }, "the refused cancellation dead-lettered", seconds: 60);
        return lastError!;
    }
}
