using System.Text.Json;
using Microsoft.Playwright;
using TicketSaga.EndToEnd.Tests;
using static Microsoft.Playwright.Assertions;

namespace TicketSaga.Storefront.Tests;

/// <summary>axe-core (vendored, Axe/README.md) on every page, at desktop and phone width: nothing serious or critical.</summary>
[Collection(nameof(SystemTests))]
public sealed class AccessibilityTests(SystemUnderTest system, Browser browser)
{
    private static readonly string AxeScript = Path.Combine(AppContext.BaseDirectory, "Axe", "axe.min.js");

    [Theory]
    [InlineData("desktop")]
    [InlineData("phone")]
    public async Task Every_page_has_no_serious_or_critical_accessibility_violations(string width)
    {
        var (seeded, _) = await StorefrontEvent.SeedAsync(system);
        var viewport = width == "phone" ? Browser.Phone : null;
        var visitor = await Shopper.VisitAsync(browser, system, viewport);
        await visitor.Page.GotoAsync("/#/sign-in");
        await Expect(visitor.Page.GetByLabel("User name")).ToBeVisibleAsync();
        var violations = await AuditAsync(visitor.Page, $"sign-in-{width}");
        var buyer = await Shopper.SignInAsync(browser, system, viewport);

        await buyer.Page.GotoAsync("/");
        await Expect(buyer.Page.GetByRole(AriaRole.Link, new() { Name = StorefrontEvent.NameOf(seeded) }).First).ToBeVisibleAsync();
        violations.AddRange(await AuditAsync(buyer.Page, $"events-{width}"));
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("Floor");
        await Expect(buyer.Page.Locator("svg.seatmap")).ToBeVisibleAsync();
        violations.AddRange(await AuditAsync(buyer.Page, $"event-{width}"));
        await buyer.Page.Locator("svg.seatmap rect.seat.available").First.ClickAsync();
        await buyer.HoldAsync();
        violations.AddRange(await AuditAsync(buyer.Page, $"order-{width}"));
        await buyer.Page.GotoAsync("/#/orders");
        await Expect(buyer.Page.GetByRole(AriaRole.Table)).ToBeVisibleAsync();
        violations.AddRange(await AuditAsync(buyer.Page, $"orders-{width}"));

        Assert.Empty(violations);
        // At phone width nothing may need sideways scrolling.
        Assert.True(await buyer.Page.EvaluateAsync<bool>("document.documentElement.scrollWidth <= window.innerWidth"));
    }

    /// <summary>The page's serious and critical violations, each as "page: rule (impact): first offending elements".</summary>
    private static async Task<List<string>> AuditAsync(IPage page, string name)
    {
        await Browser.ScreenshotAsync(page, name);
        // Evaluated by the test, not added as a <script>: the storefront's policy refuses inline scripts.
        await page.EvaluateAsync(await File.ReadAllTextAsync(AxeScript));
        var violations = await page.EvaluateAsync<JsonElement>(
            """
            async () => (await axe.run(document, { resultTypes: ['violations'] })).violations
                .filter(v => v.impact === 'serious' || v.impact === 'critical')
                .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')}`)
            """);
        return [.. violations.EnumerateArray().Select(v => $"{name}: {v.GetString()}")];
    }
}
