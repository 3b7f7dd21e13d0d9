using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class AuthenticationTests(GatewaySystem system)
{
    public static TheoryData<string, string> ProtectedEndpoints => new()
    {
        { "POST", "/orders" },
        { "GET", "/orders" },
        { "GET", "/orders/0193a0c0-0000-7000-8000-000000000001" },
        { "DELETE", "/orders/0193a0c0-0000-7000-8000-000000000001" },
        { "POST", "/payments/confirm" },
    };

    [Theory]
    [MemberData(nameof(ProtectedEndpoints))]
    public async Task Requests_without_a_token_are_refused_at_the_gateway(string method, string path)
    {
        var marker = Guid.NewGuid().ToString("N");
        using var client = system.Client();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), $"{path}?probe={marker}")
        {
            Content = method is "POST" ? JsonContent.Create(new { ticket_id = Guid.NewGuid(), qty = 1 }) : null,
        });

        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains("token is required", problem.GetProperty("detail").GetString());
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.DoesNotContain(system.Orders.Received.Concat(system.Payments.Received), r => r.Query.Contains(marker, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_token_signed_with_another_key_is_refused() =>
        await AssertRefusedAsync(DevTokens.Create(new AuthSettings { SigningKey = DevTokens.NewSigningKey() }, "mallory", TimeSpan.FromMinutes(5)), "not valid");

    [Fact]
    public async Task An_expired_token_is_refused()
    {
        var now = DateTime.UtcNow;
        var expired = new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = system.Auth.Issuer,
            Audience = system.Auth.Audience,
            Claims = new Dictionary<string, object> { [JwtRegisteredClaimNames.Sub] = "late-user" },
            IssuedAt = now.AddHours(-2),
            NotBefore = now.AddHours(-2),
            Expires = now.AddHours(-1),
            SigningCredentials = new SigningCredentials(DevTokens.SecurityKey(system.Auth.SigningKey!), SecurityAlgorithms.HmacSha256),
        });

        await AssertRefusedAsync(expired, "expired");
    }

    [Fact]
    public async Task A_token_for_another_audience_is_refused() =>
        await AssertRefusedAsync(DevTokens.Create(system.Auth with { Audience = "another-api" }, "someone", TimeSpan.FromMinutes(5)), "audience");

    [Fact]
    public async Task A_token_from_another_issuer_is_refused() =>
        await AssertRefusedAsync(DevTokens.Create(system.Auth with { Issuer = "someone-else" }, "someone", TimeSpan.FromMinutes(5)), "not valid");

    [Fact]
    public async Task The_stripe_webhook_is_public_and_reaches_payment_service_unchanged()
    {
        var payload = $$"""{"id":"evt_{{Guid.NewGuid():N}}","type":"payment_intent.succeeded"}""";
        using var client = system.Client();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/payments/webhook") { Content = new StringContent(payload, System.Text.Encoding.UTF8, "application/json") };
        var signature = GatewaySystem.WellFormedStripeSignature();
        request.Headers.Add("Stripe-Signature", signature);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(system.Payments.Received, r => r.Body == payload);
        Assert.Equal("/payments/webhook", received.Path);
        Assert.Equal(signature, received.Header("Stripe-Signature"));
        Assert.Null(received.Header("X-User-Id"));
    }

    [Fact]
    public async Task A_webhook_call_without_stripes_signature_is_refused_at_the_gateway()
    {
        var payload = $$"""{"id":"evt_{{Guid.NewGuid():N}}","type":"payment_intent.succeeded"}""";
        using var client = system.Client();

        using var response = await client.PostAsync("/payments/webhook", new StringContent(payload, System.Text.Encoding.UTF8, "application/json"));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-webhook-signature");
        Assert.DoesNotContain(system.Payments.Received, r => r.Body == payload);
    }

    [Fact]
    public async Task Catalog_and_docs_need_no_token()
    {
        using var client = system.Client();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/events")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/openapi/v1.json")).StatusCode);
    }

    private async Task AssertRefusedAsync(string token, string reason)
    {
        var marker = Guid.NewGuid().ToString("N");
        using var client = system.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        using var response = await client.GetAsync($"/orders?probe={marker}");

        var problem = await response.AssertProblemAsync(HttpStatusCode.Unauthorized, "unauthorized");
        Assert.Contains(reason, problem.GetProperty("detail").GetString());
        Assert.DoesNotContain(system.Orders.Received, r => r.Query.Contains(marker, StringComparison.Ordinal));
    }
}
