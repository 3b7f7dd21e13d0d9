using System.Net;
using System.Net.Http.Json;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService.Tests;

/// <summary>GET /internal/payments/{orderId}/attempts: every attempt to pay an order, as the order's timeline lists them.</summary>
public sealed class PaymentAttemptsTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task Every_attempt_is_kept_declined_ones_with_their_reason_and_time()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);
        var before = DateTimeOffset.UtcNow;

        using (var declined = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa_chargeDeclined"))
        {
            Assert.Equal(HttpStatusCode.PaymentRequired, declined.StatusCode);
        }

        using var authentication = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
        var intentId = (await PaymentWorld.BodyAsync(authentication)).GetProperty("payment_intent_id").GetString()!;
        await StubServer.CompleteAuthenticationAsync(world.Stub, intentId, succeed: false);
        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "PENDING", "the failed authentication recorded");
        using (var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_mastercard"))
        {
            Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        }

        var attempts = await AttemptsAsync(order.OrderId);

        Assert.Equal([1, 2, 3], attempts.Select(a => a.Attempt));
        Assert.Equal(
            [PaymentAttemptOutcomes.Declined, PaymentAttemptOutcomes.Declined, PaymentAttemptOutcomes.Succeeded],
            attempts.Select(a => a.Outcome));
        Assert.Equal(["generic_decline", "payment_intent_authentication_failure", null], attempts.Select(a => a.DeclineCode));
        Assert.All(attempts[..2], a => Assert.False(string.IsNullOrEmpty(a.Message)));
        Assert.All(attempts, a => Assert.InRange(a.StartedAt, before.AddSeconds(-1), DateTimeOffset.UtcNow));
        Assert.All(attempts, a => Assert.InRange(a.EndedAt!.Value, a.StartedAt, DateTimeOffset.UtcNow));
        Assert.True(attempts[0].EndedAt <= attempts[1].StartedAt && attempts[1].EndedAt <= attempts[2].StartedAt, "one attempt after the other");
    }

    [Fact]
    public async Task An_attempt_waiting_for_3D_Secure_says_so_and_an_unknown_order_has_none()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);

        using var authentication = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");

        Assert.Equal(HttpStatusCode.OK, authentication.StatusCode);
        var attempt = Assert.Single(await AttemptsAsync(order.OrderId));
        Assert.Equal((1, PaymentAttemptOutcomes.RequiresAction, null), (attempt.Attempt, attempt.Outcome, attempt.DeclineCode));
        Assert.Empty(await AttemptsAsync(Guid.NewGuid()));
    }

    private async Task<List<PaymentAttempt>> AttemptsAsync(Guid orderId)
    {
        using var client = world.ClientFor(null);
        return (await client.GetFromJsonAsync<List<PaymentAttempt>>($"/internal/payments/{orderId}/attempts", EventJson.Options))!;
    }
}
