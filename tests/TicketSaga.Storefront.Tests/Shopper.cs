using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Playwright;
using TicketSaga.EndToEnd.Tests;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;
using static Microsoft.Playwright.Assertions;

namespace TicketSaga.Storefront.Tests;

/// <summary>One person at the storefront: a browser context of their own, driven the way they would (labels, roles, keys).</summary>
public sealed partial class Shopper(IPage page)
{
    private readonly ConcurrentQueue<string> _refusedByPolicy = WatchPolicy(page);

    public IPage Page => page;

    /// <summary>Nothing the storefront loaded, fetched or framed was refused by the gateway's Content-Security-Policy.</summary>
    public void AssertNothingRefusedByThePolicy() => Assert.Empty(_refusedByPolicy);

    /// <summary>A visitor who has not signed in (their context has no token).</summary>
    public static async Task<Shopper> VisitAsync(Browser browser, SystemUnderTest system, ViewportSize? viewport = null) =>
        new(await browser.NewPageAsync(system.Gateway.Address, viewport));

    /// <summary>Signs in on the development sign-in page with a user name of their own.</summary>
    public static async Task<Shopper> SignInAsync(Browser browser, SystemUnderTest system, ViewportSize? viewport = null, string? screenshot = null)
    {
        var shopper = await VisitAsync(browser, system, viewport);
        var userName = "buyer-" + Guid.NewGuid().ToString("N")[..10];
        await shopper.Page.GotoAsync("/#/sign-in");
        await shopper.Page.GetByLabel("User name").FillAsync(userName);
        if (screenshot is not null)
        {
            await Browser.ScreenshotAsync(shopper.Page, screenshot);
        }

        await shopper.Page.GetByRole(AriaRole.Button, new() { Name = "Sign in", Exact = true }).ClickAsync();
        await Expect(shopper.Page.GetByText("Signed in as")).ToContainTextAsync(userName);
        return shopper;
    }

    /// <summary>Chromium reports each refusal on the console ("… violates the following Content Security Policy directive …").</summary>
    private static ConcurrentQueue<string> WatchPolicy(IPage page)
    {
        var refused = new ConcurrentQueue<string>();
        page.Console += (_, message) =>
        {
            if (message.Text.Contains("Content Security Policy", StringComparison.Ordinal))
            {
                refused.Enqueue(message.Text);
            }
        };
        return refused;
    }

    public async Task OpenEventAsync(string eventId)
    {
        await page.GotoAsync($"/#/events/{eventId}");
        await Expect(page.Locator("#buy")).ToBeVisibleAsync();
    }

    public Task ChooseTicketTypeAsync(string name) => page.GetByRole(AriaRole.Radio, new() { Name = name }).CheckAsync();

    public ILocator Seat(string seatId) => page.Locator($"rect[data-seat='{seatId}']");

    /// <summary>The event page's "Hold …" button.</summary>
    public ILocator Hold => page.GetByRole(AriaRole.Button, new() { NameRegex = HoldButton() });

    /// <summary>Holds what the event page has chosen and lands on the order page; answers the order id.</summary>
    public async Task<string> HoldAsync()
    {
        await Hold.ClickAsync();
        return await OrderPageOpenedAsync();
    }

    /// <summary>Waits for the page of the order just placed, PENDING; answers the order id.</summary>
    public async Task<string> OrderPageOpenedAsync()
    {
        try
        {
            await page.WaitForURLAsync(OrderPage());
        }
        catch (TimeoutException ex)
        {
            // What the buyer saw instead (an error, a queue place) is what explains the timeout.
            await Browser.ScreenshotAsync(page, "order-page-not-opened");
            throw new TimeoutException($"The order page did not open; the page says: {await page.Locator("body").InnerTextAsync()}", ex);
        }

        await Expect(page.Locator("#status")).ToHaveTextAsync("PENDING");
        return OrderPage().Match(page.Url).Groups[1].Value;
    }

    public async Task PayAsync(string card)
    {
        await page.GetByRole(AriaRole.Radio, new() { Name = card }).CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { NameRegex = PayButton() }).ClickAsync();
    }

    public Task ExpectStatusAsync(string status) => Expect(page.Locator("#status")).ToHaveTextAsync(status);

    public Task ExpectSeatAsync(string seatId, string state) => Expect(Seat(seatId)).ToHaveClassAsync(new Regex($@"\bseat {state}\b"));

    [GeneratedRegex(@"^Hold ")]
    private static partial Regex HoldButton();

    [GeneratedRegex(@"#/orders/([0-9a-f-]{36})$")]
    private static partial Regex OrderPage();

    [GeneratedRegex(@"^Pay ")]
    private static partial Regex PayButton();
}

/// <summary>The event every storefront test buys from, with the name, venue and date buyers see.</summary>
public static class StorefrontEvent
{
    /// <summary>Each test's event has a name of its own: the list holds every event the run has made.</summary>
    public static string NameOf(SeededEvent seeded) => $"Spring concert {seeded.EventId[^6..]}";

    public static async Task<(SeededEvent Event, IReadOnlyList<Seat> Seats)> SeedAsync(SystemUnderTest system, string? eventId = null)
    {
        var seeded = await system.SeedEventAsync(eventId: eventId);
        await system.TicketClient.DescribeEventAsync(new DescribeEventRequest
        {
            Event = new EventDetails
            {
                EventId = seeded.EventId, Name = NameOf(seeded), Venue = "Hall",
                StartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.Date.AddDays(40).AddHours(20)),
            },
        });
        var map = await system.VenueClient.GetSeatMapAsync(new GetSeatMapRequest { PlanId = seeded.SeatPlanId });
        return (seeded, [.. map.Seats.OrderBy(s => s.Row, StringComparer.Ordinal).ThenBy(s => s.Number)]);
    }
}
