using System.Net;

namespace TicketSaga.PaymentService.Tests;

/// <summary>Issue 13 f: a request Stripe refuses as invalid is answered with a clear 4xx, once, not replayed as a 503 forever.</summary>
public sealed class StripeRefusalTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task A_request_Stripe_refuses_as_invalid_ends_the_attempt_with_a_4xx_problem()
    {
        var user = PaymentWorld.NewUser();
        // Stripe refuses an amount below its minimum: the card is not the problem, the request is.
        var order = await world.CreateOrderAsync(user, amountMinor: 0);

        using var first = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        using var second = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        foreach (var response in new[] { first, second })
        {
            var problem = await ResponseAssert.ProblemAsync(response, HttpStatusCode.UnprocessableEntity, "payment-request-rejected");
            Assert.Equal("amount", problem.GetProperty("param").GetString());
        }

        Assert.False(await world.ScalarAsync<bool>("SELECT attempt_in_flight FROM payments WHERE order_id = @order", order.OrderId));
        Assert.Equal("PENDING", await world.PaymentStatusAsync(order.OrderId));
        Assert.Empty(world.IntentsOf(order.OrderId));
    }
}
