using Microsoft.Playwright;
using TicketSaga.EndToEnd.Tests;
using static Microsoft.Playwright.Assertions;

namespace TicketSaga.Storefront.Tests;

/// <summary>Holds of a few seconds (the short-hold system): what a buyer who does not pay sees.</summary>
[Collection(nameof(ShortHoldSystemTests))]
public sealed class HoldExpiryTests(ShortHoldSystem system, Browser browser)
{
    [Fact]
    public async Task An_unpaid_hold_expires_the_page_says_so_and_the_seats_come_back()
    {
        var (seeded, seats) = await StorefrontEvent.SeedAsync(system);
        var watcher = await Shopper.VisitAsync(browser, system);
        await watcher.OpenEventAsync(seeded.EventId);
        await watcher.ChooseTicketTypeAsync("Floor");
        var buyer = await Shopper.SignInAsync(browser, system);
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("Floor");
        await buyer.Seat(seats[0].SeatId).ClickAsync();
        await buyer.Seat(seats[1].SeatId).ClickAsync();
        await buyer.HoldAsync();
        await watcher.ExpectSeatAsync(seats[0].SeatId, "held");

        // The hold lasts 8 s and the saga ends the order a settle window later; the rest is slack for a loaded machine.
        await Expect(buyer.Page.Locator("#status")).ToHaveTextAsync("EXPIRED", new() { Timeout = 60_000 });

        await Expect(buyer.Page.Locator("#outcome")).ToHaveTextAsync("The hold expired before the payment: the tickets are back on sale.");
        await Expect(buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Pay", Exact = false })).ToBeHiddenAsync();
        await Expect(buyer.Page.Locator("#timeline li[data-step=expired]")).ToContainTextAsync("Hold released (EXPIRED)");
        await Browser.ScreenshotAsync(buyer.Page, "order-expired");
        await watcher.ExpectSeatAsync(seats[0].SeatId, "available");
        await watcher.ExpectSeatAsync(seats[1].SeatId, "available");
    }
}
