using Microsoft.Playwright;

namespace TicketSaga.Storefront.Tests;

/// <summary>Pins the browser stack: Playwright drives Debian's Chromium, headless, here and in CI.</summary>
public sealed class BrowserSmokeTests(Browser browser)
{
    [Fact]
    public async Task Playwright_drives_the_debian_chromium_headless()
    {
        var page = await browser.Chromium.NewPageAsync();

        await page.SetContentAsync("<button onclick=\"this.textContent = 'clicked'\">click me</button>");
        await page.GetByRole(AriaRole.Button).ClickAsync();

        Assert.Equal("clicked", await page.GetByRole(AriaRole.Button).TextContentAsync());
        Assert.Contains("HeadlessChrome", await page.EvaluateAsync<string>("navigator.userAgent"));
        Assert.True(File.Exists(Browser.ChromiumPath));
        await page.Context.CloseAsync();
    }
}
