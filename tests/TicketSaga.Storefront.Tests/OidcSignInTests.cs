using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.Playwright;
using TicketSaga.Contracts;
using TicketSaga.EndToEnd.Tests;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;
using static Microsoft.Playwright.Assertions;

namespace TicketSaga.Storefront.Tests;

/// <summary>
/// The system as production configures it: no development key anywhere, every service validating tokens
/// of an OpenID Connect provider (<c>Auth:Authority</c>), the storefront signing in with the authorization
/// code flow and PKCE.
/// </summary>
public sealed class OidcSystem(PostgresServer postgres) : SystemUnderTest(postgres)
{
    public const string ClientId = "ticketsaga-storefront";

    public OidcProvider Provider { get; private set; } = null!;

    public override async ValueTask InitializeAsync()
    {
        Provider = await OidcProvider.StartAsync(ClientId, Auth.Audience, () => Gateway.Address);
        await base.InitializeAsync();
    }

    protected override IReadOnlyDictionary<string, string?> TokenValidation(string appId) => appId == AppIds.Gateway
        ? new Dictionary<string, string?> { ["Auth:Authority"] = Provider.Issuer.ToString(), ["Storefront:OidcClientId"] = ClientId }
        : new Dictionary<string, string?> { ["Auth:Authority"] = Provider.Issuer.ToString() };

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Provider.DisposeAsync();
    }
}

[CollectionDefinition(nameof(OidcSystemTests))]
public sealed class OidcSystemTests : ICollectionFixture<OidcSystem>;

[Collection(nameof(OidcSystemTests))]
public sealed class OidcSignInTests(OidcSystem system, Browser browser)
{
    [Fact]
    public async Task A_buyer_signs_in_at_the_identity_provider_and_buys_with_its_token()
    {
        var (seeded, _) = await StorefrontEvent.SeedAsync(system);
        var buyer = await Shopper.VisitAsync(browser, system);
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.Page.GetByRole(AriaRole.Link, new() { Name = "Sign in" }).ClickAsync();
        await buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Continue to sign in" }).ClickAsync();

        await buyer.Page.WaitForURLAsync(url => url.StartsWith(system.Provider.Issuer.ToString(), StringComparison.Ordinal));
        await Browser.ScreenshotAsync(buyer.Page, "oidc-provider");
        await buyer.Page.GetByLabel("Email or user name").FillAsync("alice@example.org");
        await buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        // Back on the event page the buyer started from, with the provider's token.
        await Expect(buyer.Page.GetByText("Signed in as")).ToContainTextAsync("alice@example.org");
        await Expect(buyer.Page.Locator("#buy")).ToBeVisibleAsync();
        Assert.EndsWith($"/#/events/{seeded.EventId}", buyer.Page.Url, StringComparison.Ordinal);
        await buyer.ChooseTicketTypeAsync("General admission");
        await buyer.Page.GetByLabel("Quantity").FillAsync("1");
        await buyer.HoldAsync();
        await buyer.PayAsync("Visa — the payment succeeds");
        await buyer.ExpectStatusAsync("CONFIRMED");
        await buyer.Page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "My orders" }).ClickAsync();
        await Expect(buyer.Page.GetByRole(AriaRole.Row).Filter(new() { HasText = "CONFIRMED" })).ToHaveCountAsync(1);
        buyer.AssertNothingRefusedByThePolicy();
    }

    [Fact]
    public async Task A_buyer_who_cancels_at_the_identity_provider_is_back_on_the_sign_in_page_with_the_reason()
    {
        var buyer = await Shopper.VisitAsync(browser, system);
        await buyer.Page.GotoAsync("/#/sign-in");
        await buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Continue to sign in" }).ClickAsync();
        await buyer.Page.WaitForURLAsync(url => url.StartsWith(system.Provider.Issuer.ToString(), StringComparison.Ordinal));

        await buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Cancel" }).ClickAsync();

        await Expect(buyer.Page.GetByRole(AriaRole.Alert)).ToContainTextAsync("denied");
        await Expect(buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Continue to sign in" })).ToBeVisibleAsync();
        await Expect(buyer.Page.GetByText("Signed in as")).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task Tokens_of_the_development_key_and_the_development_sign_in_do_not_exist_here()
    {
        using var client = system.Client();

        using var signIn = await client.PostAsJsonAsync("/storefront/sign-in", new { user_name = "mallory" });
        Assert.Equal(HttpStatusCode.NotFound, signIn.StatusCode);

        // Signed with a key of the attacker's own, claiming the provider as issuer.
        var forged = DevTokens.Create(new AuthSettings { SigningKey = DevTokens.NewSigningKey(), Issuer = system.Provider.Issuer.ToString() }, "mallory", TimeSpan.FromMinutes(5));
        using var orders = new HttpRequestMessage(HttpMethod.Get, "/orders");
        orders.Headers.Authorization = new AuthenticationHeaderValue("Bearer", forged);
        using var answer = await client.SendAsync(orders);
        Assert.Equal(HttpStatusCode.Unauthorized, answer.StatusCode);
    }
}
