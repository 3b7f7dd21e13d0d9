using System.Net;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class BrowserPolicyTests(GatewaySystem system)
{
    [Theory]
    [InlineData("/")]
    [InlineData("/index.html")]
    public async Task The_storefront_page_runs_only_its_own_scripts_and_stripe_js_and_is_never_framed(string path)
    {
        using var client = system.Client();

        using var page = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        var policy = Directives(Assert.Single(page.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("'self'", policy["default-src"]);
        Assert.Equal("'self' https://js.stripe.com https://*.js.stripe.com", policy["script-src"]);
        Assert.Equal("'self' https://api.stripe.com https://link.com https://*.link.com", policy["connect-src"]);
        Assert.Equal("'none'", policy["frame-ancestors"]);
        Assert.Equal("'none'", policy["object-src"]);
        Assert.Equal("'none'", policy["base-uri"]);
        Assert.DoesNotContain(policy.Values, sources => sources.Contains("unsafe", StringComparison.Ordinal));
        Assert.Equal("DENY", Assert.Single(page.Headers.GetValues("X-Frame-Options")));
        Assert.Equal("nosniff", Assert.Single(page.Headers.GetValues("X-Content-Type-Options")));
    }

    [Fact]
    public async Task Origins_named_in_the_settings_may_be_fetched_from_and_anything_but_a_web_origin_stops_the_gateway()
    {
        await using var gateway = await system.StartGatewayAsync("gateway-google-sign-in", new Dictionary<string, string?>
        {
            ["Storefront:ConnectSources:0"] = "https://oauth2.googleapis.com/token",
            ["Storefront:ConnectSources:1"] = "https://oauth2.googleapis.com",
        });
        using var client = system.Client(gateway: gateway.Address);

        using var page = await client.GetAsync("/");

        var policy = Directives(Assert.Single(page.Headers.GetValues("Content-Security-Policy")));
        Assert.Equal("'self' https://api.stripe.com https://link.com https://*.link.com https://oauth2.googleapis.com", policy["connect-src"]);
        var refused = await Assert.ThrowsAnyAsync<Exception>(() => system.StartGatewayAsync("gateway-file-source", new Dictionary<string, string?>
        {
            ["Storefront:ConnectSources:0"] = "/etc/passwd",
        }));
        Assert.Contains("Storefront:ConnectSources", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_answer_forbids_content_sniffing_whoever_wrote_it()
    {
        using var anonymous = system.Client();
        using var buyer = system.Client(GatewaySystem.NewUser());
        using var unknownPath = new HttpRequestMessage(HttpMethod.Put, "/orders/x");

        HttpResponseMessage[] answers =
        [
            await anonymous.GetAsync("/events"),                 // the gateway's own JSON
            await anonymous.GetAsync("/events/not-an-id/seats"), // its problem details
            await anonymous.GetAsync("/orders"),                 // the 401 challenge
            await buyer.GetAsync("/orders"),                     // proxied from the service
            await buyer.SendAsync(unknownPath),                  // a status page
            await anonymous.GetAsync("/js/app.js"),              // a storefront file
        ];

        Assert.All(answers, answer => Assert.Equal("nosniff", Assert.Single(answer.Headers.GetValues("X-Content-Type-Options"))));
        Assert.Equal(
            [HttpStatusCode.OK, HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.NotFound, HttpStatusCode.OK],
            answers.Select(a => a.StatusCode));
        foreach (var answer in answers)
        {
            answer.Dispose();
        }
    }

    [Fact]
    public async Task A_signed_in_buyers_answers_are_not_stored_and_the_public_catalog_may_be()
    {
        using var anonymous = system.Client();
        using var buyer = system.Client(GatewaySystem.NewUser());

        using var orders = await buyer.GetAsync("/orders");
        using var events = await anonymous.GetAsync("/events");
        using var refused = await anonymous.GetAsync("/orders");

        Assert.Equal(HttpStatusCode.OK, orders.StatusCode);
        Assert.True(orders.Headers.CacheControl?.NoStore, "the buyer's orders are no-store");
        Assert.Null(events.Headers.CacheControl);
        Assert.Null(refused.Headers.CacheControl);
    }

    private static Dictionary<string, string> Directives(string policy) =>
        policy.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries)
            .Select(directive => directive.Split(' ', 2))
            .ToDictionary(parts => parts[0], parts => parts.Length > 1 ? parts[1] : "");
}
