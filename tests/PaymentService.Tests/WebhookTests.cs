using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using TicketSaga.Contracts;
using TicketSaga.StripeStub;

namespace TicketSaga.PaymentService.Tests;

public sealed class WebhookTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task A_replayed_webhook_has_its_effect_once()
    {
        var (order, intentId) = await PayThroughAuthenticationAsync();
        var succeeded = world.Stub.Events.Events.Single(e => e.Type == "payment_intent.succeeded" && e.Json.Contains(intentId, StringComparison.Ordinal));
        await world.QuiesceAsync();
        var before = await world.SnapshotAsync();

        using var first = await PostAsync(succeeded.Json, DateTimeOffset.UtcNow);
        using var second = await PostAsync(succeeded.Json, DateTimeOffset.UtcNow);

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal(before, await world.SnapshotAsync());
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
    }

    [Fact]
    public async Task Webhooks_in_any_order_leave_a_succeeded_payment_succeeded()
    {
        var (user, order, intentId) = await AwaitingAuthenticationAsync();

        // Authentication fails, the customer pays with another card; Stripe's events then arrive newest first.
        world.Stub.Events.Hold();
        await StubServer.CompleteAuthenticationAsync(world.Stub, intentId, succeed: false);
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        world.Stub.Events.Release(held => held.Reverse());
        await world.QuiesceAsync();

        Assert.Equal("SUCCEEDED", await world.PaymentStatusAsync(order.OrderId));
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count > 0, "payments.payment.succeeded");
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
        Assert.Equal(intentId, Assert.Single(world.IntentsOf(order.OrderId)).Id);
    }

    [Fact]
    public async Task Forged_unsigned_and_stale_webhooks_are_rejected_and_change_nothing()
    {
        var (_, order, intentId) = await AwaitingAuthenticationAsync();
        var requiresAction = world.Stub.Events.Events.Last(e => e.Type == "payment_intent.requires_action" && e.Json.Contains(intentId, StringComparison.Ordinal));
        var forgedSuccess = JsonNode.Parse(requiresAction.Json)!.AsObject();
        forgedSuccess["id"] = "evt_forged";
        forgedSuccess["type"] = "payment_intent.succeeded";
        forgedSuccess["data"]!["object"]!["status"] = "succeeded";
        forgedSuccess["data"]!["object"]!["amount_received"] = forgedSuccess["data"]!["object"]!["amount"]!.GetValue<long>();
        var payload = forgedSuccess.ToJsonString();
        await world.QuiesceAsync();
        var before = await world.SnapshotAsync();

        using var wrongSecret = await PostAsync(payload, DateTimeOffset.UtcNow, "whsec_guessed");
        using var stale = await PostAsync(payload, DateTimeOffset.UtcNow.AddMinutes(-6));
        using var tampered = await PostRawAsync(payload.Replace("evt_forged", "evt_other", StringComparison.Ordinal), WebhookSignature.Header(payload, world.Stub.Options.WebhookSecret, DateTimeOffset.UtcNow));
        using var unsigned = await PostRawAsync(payload, signature: null);

        foreach (var response in new[] { wrongSecret, stale, tampered, unsigned })
        {
            await ResponseAssert.ProblemAsync(response, HttpStatusCode.BadRequest, "invalid-webhook-signature");
        }

        Assert.Equal(before, await world.SnapshotAsync());
        Assert.Equal("REQUIRES_ACTION", await world.PaymentStatusAsync(order.OrderId));
    }

    [Fact]
    public async Task A_refund_made_at_Stripe_refunds_the_payment_and_announces_it_once()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 8800);
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
        var intentId = (await PaymentWorld.BodyAsync(paid)).GetProperty("payment_intent_id").GetString()!;

        await StubServer.RefundFromDashboardAsync(world.Stub, intentId);
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        foreach (var refundEvent in world.Stub.Events.Events.Where(e => e.Type is "charge.refunded" or "refund.created" && e.Json.Contains(intentId, StringComparison.Ordinal)))
        {
            world.Stub.Events.Resend(refundEvent.Id);
        }

        await world.QuiesceAsync();
        var refund = Assert.Single(world.Stub.Ledger.Refunds, r => r.PaymentIntent == intentId);
        var refunded = Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
        Assert.Equal((refund.Id, 8800L, "EUR"), (refunded.Data.GetProperty("refundId").GetString(), refunded.Data.GetProperty("amountMinor").GetInt64(), refunded.Data.GetProperty("currency").GetString()));
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
        Assert.Equal(1L, await world.ScalarAsync<long>("SELECT count(*) FROM refunds WHERE order_id = @order AND amount_minor = 8800", order.OrderId));
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
    }

    [Fact]
    public async Task A_refund_that_arrives_before_the_capture_it_refunds_is_applied_once_the_capture_is_known()
    {
        var (_, order, intentId) = await AwaitingAuthenticationAsync();

        // The customer authenticates, the money is refunded from the dashboard at once; the refund's events come first.
        world.Stub.Events.Hold();
        await StubServer.CompleteAuthenticationAsync(world.Stub, intentId, succeed: true);
        await StubServer.RefundFromDashboardAsync(world.Stub, intentId);
        world.Stub.Events.Release(held => held.Reverse());

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        await world.QuiesceAsync();
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
    }

    [Fact]
    public async Task A_refund_made_while_a_confirm_is_unanswered_is_applied_once_the_capture_is_known()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 3900);

        // Stripe captures, the confirm's answer is lost, and the money is refunded from the dashboard before any webhook is applied.
        world.Stub.Events.Hold();
        await world.ConfirmWithAnswerLostAsync(user, order.OrderId, "pm_card_visa");

        Assert.Equal("PENDING", await world.PaymentStatusAsync(order.OrderId));
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        await StubServer.RefundFromDashboardAsync(world.Stub, intent.Id);
        world.Stub.Events.Release(held => held.Reverse());

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded).Count > 0, "payments.payment.refunded");
        await world.QuiesceAsync();
        Assert.Equal("REFUNDED", await world.PaymentStatusAsync(order.OrderId));
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentRefunded));
    }

    [Fact]
    public async Task A_capture_made_before_the_deadline_keeps_its_capture_time_however_late_its_webhook_arrives()
    {
        var (_, order, intentId) = await AwaitingAuthenticationAsync(holdFor: TimeSpan.FromSeconds(4));

        world.Stub.Events.Hold();
        await StubServer.CompleteAuthenticationAsync(world.Stub, intentId, succeed: true);
        var authenticatedBy = DateTimeOffset.UtcNow;
        Assert.True(authenticatedBy < order.ExpiresAt, "authenticated before the deadline");
        await PaymentWorld.EventuallyAsync(() => DateTimeOffset.UtcNow > order.ExpiresAt.AddSeconds(1), "the deadline passed");
        world.Stub.Events.Release();

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count > 0, "payments.payment.succeeded");
        var capturedAt = Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded)).Data.GetProperty("succeededAt").GetDateTimeOffset();
        Assert.InRange(capturedAt, order.CreatedAt.AddSeconds(-1), authenticatedBy);
    }

    /// <summary>An order whose payment waits for the customer's 3-D Secure step.</summary>
    private async Task<(string User, OrderCreated Order, string IntentId)> AwaitingAuthenticationAsync(TimeSpan? holdFor = null)
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, holdFor: holdFor);
        using var pending = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
        return (user, order, (await PaymentWorld.BodyAsync(pending)).GetProperty("payment_intent_id").GetString()!);
    }

    private async Task<(OrderCreated Order, string IntentId)> PayThroughAuthenticationAsync()
    {
        var (_, order, intentId) = await AwaitingAuthenticationAsync();
        await StubServer.CompleteAuthenticationAsync(world.Stub, intentId, succeed: true);
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count > 0, "payments.payment.succeeded");
        return (order, intentId);
    }

    private Task<HttpResponseMessage> PostAsync(string payload, DateTimeOffset signedAt, string? secret = null) =>
        PostRawAsync(payload, WebhookSignature.Header(payload, secret ?? world.Stub.Options.WebhookSecret, signedAt));

    private async Task<HttpResponseMessage> PostRawAsync(string payload, string? signature)
    {
        using var client = world.ClientFor(null);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/payments/webhook") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        if (signature is not null)
        {
            request.Headers.Add("Stripe-Signature", signature);
        }

        return await client.SendAsync(request);
    }
}
