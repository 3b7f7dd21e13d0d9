using Microsoft.Playwright;

[assembly: AssemblyFixture(typeof(TicketSaga.Storefront.Tests.Browser))]

namespace TicketSaga.Storefront.Tests;

/// <summary>
/// Debian's headless Chromium driven by Playwright (its own browser download is not used, nor possible
/// here). One browser for the test run; every test opens contexts of its own (separate storage: separate buyers).
/// </summary>
public sealed class Browser : IAsyncLifetime
{
    public const string ChromiumPath = "/usr/bin/chromium";

    /// <summary>A phone's width (iPhone 12/13/14 in CSS pixels): the storefront must be usable there.</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    private IPlaywright _playwright = null!;

    public IBrowser Chromium { get; private set; } = null!;

    /// <summary>Where each test's screenshots go: kept as artifacts beside the test assembly.</summary>
    public static string ScreenshotDirectory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public async ValueTask InitializeAsync()
    {
        Directory.CreateDirectory(ScreenshotDirectory);
        // Web-first assertions poll; under CI load a saga step can take a few seconds.
        Assertions.SetDefaultExpectTimeout(30_000);
        _playwright = await Playwright.CreateAsync();
        Chromium = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // As root (CI containers) Chromium refuses to start sandboxed.
            Args = ["--no-sandbox"],
        });
    }

    public async Task<IPage> NewPageAsync(Uri baseAddress, ViewportSize? viewport = null)
    {
        var context = await Chromium.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = baseAddress.ToString(),
            ViewportSize = viewport ?? new ViewportSize { Width = 1200, Height = 900 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(ScreenshotDirectory, name + ".png"), FullPage = true });

    public async ValueTask DisposeAsync()
    {
        if (Chromium is not null)
        {
            await Chromium.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
