extern alias GatewayApp;

using System.Net;
using System.Text;
using GatewayApp::TicketSaga.Gateway.Proxy;

namespace TicketSaga.Gateway.Tests;

/// <summary>The anonymous Stripe webhook, flooded with forged events, never takes what payment calls need.</summary>
[Collection(nameof(GatewayTests))]
public sealed class WebhookDoorTests(GatewaySystem system)
{
    [Fact]
    public async Task Webhooks_beyond_their_share_are_answered_503_at_once_while_payment_calls_keep_their_connections()
    {
        await using var gateway = await system.StartGatewayAsync("gateway-webhook-flood", new Dictionary<string, string?>
        {
            ["Gateway:SidecarConnections"] = "1",
            ["Gateway:WebhookConnections"] = "1",
            ["Gateway:MaxWebhooksInFlight"] = "2",
        });
        var cancellation = TestContext.Current.CancellationToken;
        using var anonymous = system.Client(gateway: gateway.Address);
        var gateName = "webhook-" + Guid.NewGuid().ToString("N");
        var gate = system.Payments.GateFor(gateName);
        var held = anonymous.SendAsync(Webhook(gateName), cancellation);
        await gate.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellation);
        // The second waits for the webhooks' only connection; a third is one too many.
        var waiting = anonymous.SendAsync(Webhook(), cancellation);
        await Task.Delay(TimeSpan.FromMilliseconds(200), cancellation);

        using var tooMany = await anonymous.SendAsync(Webhook(), cancellation);
        using var customer = system.Client(GatewaySystem.NewUser(), gateway.Address);
        using var payment = await customer.GetAsync($"/payments/{Guid.NewGuid()}", cancellation);

        await tooMany.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "overloaded");
        Assert.True(tooMany.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After names a delay");
        Assert.Equal(HttpStatusCode.OK, payment.StatusCode);
        Assert.False(held.IsCompleted);
        gate.Opened.SetResult();
        using var first = await held;
        using var second = await waiting;
        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
    }

    [Theory]
    [InlineData("t=1,v1=0000000000000000000000000000000000000000000000000000000000000000", "from now")]
    [InlineData("v1=0000000000000000000000000000000000000000000000000000000000000000", "not t=")]
    [InlineData("t=now,v1=abc", "not t=")]
    [InlineData("t=now", "not t=")]
    public async Task A_signature_stripe_cannot_have_made_just_now_is_refused_at_the_gateway(string signature, string reason)
    {
        var marker = "evt_" + Guid.NewGuid().ToString("N");
        using var anonymous = system.Client();
        using var request = Webhook(marker: marker);
        request.Headers.Remove("Stripe-Signature");
        request.Headers.Add("Stripe-Signature", signature.Replace("t=now", $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()}", StringComparison.Ordinal));

        using var response = await anonymous.SendAsync(request, TestContext.Current.CancellationToken);

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-webhook-signature");
        Assert.Contains(reason, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(system.Payments.Received, r => r.Body.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public void A_signature_made_within_the_tolerance_either_side_of_now_passes()
    {
        var now = DateTimeOffset.UtcNow;
        string Signed(DateTimeOffset at) => $"t={at.ToUnixTimeSeconds()},v0=ab,v1={new string('a', 64)}";

        Assert.Null(StripeWebhookDoor.SignatureRefusal(Signed(now.AddSeconds(-299)), now));
        Assert.Null(StripeWebhookDoor.SignatureRefusal(Signed(now.AddSeconds(299)), now));
        Assert.NotNull(StripeWebhookDoor.SignatureRefusal(Signed(now.AddSeconds(-301)), now));
        Assert.NotNull(StripeWebhookDoor.SignatureRefusal(Signed(now.AddSeconds(301)), now));
        Assert.NotNull(StripeWebhookDoor.SignatureRefusal($"t={now.ToUnixTimeSeconds()},v1={new string('A', 64)}", now));
    }

    /// <param name="gate">Holds the call at payment-service's stand-in until the test opens it.</param>
    private static HttpRequestMessage Webhook(string? gate = null, string? marker = null)
    {
        var payload = $$"""{"id":"{{marker ?? "evt_" + Guid.NewGuid().ToString("N")}}","type":"payment_intent.succeeded"}""";
        var request = new HttpRequestMessage(HttpMethod.Post, "/payments/webhook") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.Add("Stripe-Signature", GatewaySystem.WellFormedStripeSignature());
        if (gate is not null)
        {
            request.Headers.Add("X-Test-Gate", gate);
        }

        return request;
    }
}
