using System.Net;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class RateLimitTests(GatewaySystem system)
{
    [Fact]
    public async Task A_user_over_the_limit_gets_429_with_retry_after_while_another_user_is_unaffected()
    {
        await using var gateway = await system.StartGatewayAsync("gateway-rate-limited", new Dictionary<string, string?>
        {
            ["RateLimiting:TokenLimit"] = "3",
            ["RateLimiting:TokensPerPeriod"] = "3",
            ["RateLimiting:ReplenishmentPeriod"] = "01:00:00",
        });
        var greedy = GatewaySystem.NewUser();
        var patient = GatewaySystem.NewUser();
        using var greedyClient = system.Client(greedy, gateway.Address);
        using var patientClient = system.Client(patient, gateway.Address);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await greedyClient.GetAsync("/orders")).StatusCode);
        }

        using var refused = await greedyClient.GetAsync("/orders");
        using var other = await patientClient.GetAsync("/orders");

        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.True(refused.Headers.RetryAfter?.Delta > TimeSpan.Zero, "Retry-After names a delay");
        Assert.Equal(3, system.Orders.ReceivedFrom(greedy).Count);
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        // Only the exact infrastructure paths are exempt, not what lies below them.
        foreach (var path in new[] { "/payments/webhook/x", "/dapr/x", "/healthz/x", "/readyz/x" })
        {
            using var below = await greedyClient.GetAsync(path);
            await below.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");
        }

        Assert.Equal(HttpStatusCode.OK, (await greedyClient.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task Anonymous_callers_are_limited_per_client_address()
    {
        await using var gateway = await system.StartGatewayAsync("gateway-rate-limited-anonymous", new Dictionary<string, string?>
        {
            ["RateLimiting:TokenLimit"] = "2",
            ["RateLimiting:TokensPerPeriod"] = "2",
            ["RateLimiting:ReplenishmentPeriod"] = "01:00:00",
        });
        using var anonymous = system.Client(gateway: gateway.Address);
        using var user = system.Client(GatewaySystem.NewUser(), gateway.Address);

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/events")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/events")).StatusCode);
        using var refused = await anonymous.GetAsync("/events");

        await refused.AssertProblemAsync(HttpStatusCode.TooManyRequests, "rate-limited");
        Assert.Equal(HttpStatusCode.OK, (await user.GetAsync("/events")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/healthz")).StatusCode);
    }
}
