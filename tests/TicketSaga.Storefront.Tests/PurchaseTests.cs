using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TicketSaga.EndToEnd.Tests;
using static Microsoft.Playwright.Assertions;

namespace TicketSaga.Storefront.Tests;

/// <summary>Buying in the browser, against the whole system on the embedded runtime.</summary>
[Collection(nameof(SystemTests))]
public sealed class PurchaseTests(SystemUnderTest system, Browser browser)
{
    [Fact]
    public async Task A_buyer_finds_the_event_holds_general_admission_and_pays()
    {
        var (seeded, _) = await StorefrontEvent.SeedAsync(system);
        var buyer = await Shopper.SignInAsync(browser, system, screenshot: "sign-in");

        await buyer.Page.GotoAsync("/");
        var card = buyer.Page.GetByRole(AriaRole.Listitem).Filter(new() { Has = buyer.Page.GetByRole(AriaRole.Link, new() { Name = StorefrontEvent.NameOf(seeded) }) }).First;
        await Expect(card).ToContainTextAsync("Hall");
        await Expect(card).ToContainTextAsync("28 tickets available");
        await Expect(card).ToContainTextAsync("€45.00 – €70.00");
        await Browser.ScreenshotAsync(buyer.Page, "events");
        await card.GetByRole(AriaRole.Link).ClickAsync();
        await buyer.ChooseTicketTypeAsync("General admission");
        await Expect(buyer.Page.Locator("#buy")).ToContainTextAsync("at most 4 per buyer");
        await buyer.Page.GetByLabel("Quantity").FillAsync("2");
        var orderId = await buyer.HoldAsync();
        await Expect(buyer.Page.Locator("#amount")).ToHaveTextAsync("€90.00");
        await Expect(buyer.Page.Locator("#countdown")).ToHaveTextAsync(new Regex(@"^[45]:\d\d$"));
        await Browser.ScreenshotAsync(buyer.Page, "order-pending");
        await buyer.PayAsync("Visa — the payment succeeds");

        await buyer.ExpectStatusAsync("CONFIRMED");
        await Expect(buyer.Page.Locator("#outcome")).ToHaveTextAsync("Paid: your tickets are confirmed.");
        await Expect(buyer.Page.Locator("#timeline li[data-step]")).ToHaveCountAsync(4);
        Assert.Equal(["created", "held", "payment_captured", "confirmed"], await buyer.Page.Locator("#timeline li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.step)"));
        await Browser.ScreenshotAsync(buyer.Page, "order-confirmed");
        await buyer.Page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "My orders" }).ClickAsync();
        await Expect(buyer.Page.GetByRole(AriaRole.Row).Filter(new() { HasText = orderId[..8] })).ToContainTextAsync("CONFIRMED");
        await Browser.ScreenshotAsync(buyer.Page, "my-orders");
        buyer.AssertNothingRefusedByThePolicy();
    }

    [Fact]
    public async Task Two_seats_chosen_by_mouse_and_keyboard_turn_held_then_sold_on_another_buyers_map()
    {
        var (seeded, seats) = await StorefrontEvent.SeedAsync(system);
        var (first, second) = (seats[0], seats[1]);
        var watcher = await Shopper.VisitAsync(browser, system);
        await watcher.OpenEventAsync(seeded.EventId);
        await watcher.ChooseTicketTypeAsync("Floor");
        await watcher.ExpectSeatAsync(first.SeatId, "available");
        var buyer = await Shopper.SignInAsync(browser, system);

        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("Floor");
        await buyer.Seat(first.SeatId).ClickAsync();
        await buyer.Page.Keyboard.PressAsync("ArrowRight");
        await buyer.Page.Keyboard.PressAsync("Space");
        await Expect(buyer.Page.Locator("#selection")).ToHaveTextAsync($"Selected: {first.Label}, {second.Label}");
        await Expect(buyer.Seat(second.SeatId)).ToBeFocusedAsync();
        await Browser.ScreenshotAsync(buyer.Page, "event-seat-map");
        await buyer.HoldAsync();

        await watcher.ExpectSeatAsync(first.SeatId, "held");
        await watcher.ExpectSeatAsync(second.SeatId, "held");
        await watcher.ExpectSeatAsync(seats[2].SeatId, "available");
        await buyer.PayAsync("Visa — the payment succeeds");
        await buyer.ExpectStatusAsync("CONFIRMED");
        await watcher.ExpectSeatAsync(first.SeatId, "sold");
        await watcher.ExpectSeatAsync(second.SeatId, "sold");
        await Expect(watcher.Seat(first.SeatId)).ToHaveAttributeAsync("aria-disabled", "true");
        await Browser.ScreenshotAsync(watcher.Page, "event-seat-map-sold");
        buyer.AssertNothingRefusedByThePolicy();
    }

    [Fact]
    public async Task A_declined_card_says_why_and_another_card_then_pays()
    {
        var (seeded, _) = await StorefrontEvent.SeedAsync(system);
        var buyer = await Shopper.SignInAsync(browser, system);
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("General admission");
        await buyer.HoldAsync();

        await buyer.PayAsync("Visa — declined by the bank");

        await Expect(buyer.Page.Locator("#pay-error")).ToContainTextAsync("The payment was declined: Your card was declined.");
        await buyer.ExpectStatusAsync("PENDING");
        await Browser.ScreenshotAsync(buyer.Page, "order-declined");
        await buyer.PayAsync("Visa — the payment succeeds");
        await buyer.ExpectStatusAsync("CONFIRMED");

        // The declined attempt stays on the order's timeline, before the capture.
        await Expect(buyer.Page.Locator("#timeline li[data-step]")).ToHaveCountAsync(5);
        Assert.Equal(["created", "held", "payment_attempt", "payment_captured", "confirmed"], await buyer.Page.Locator("#timeline li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.step)"));
        await Expect(buyer.Page.Locator("#timeline li[data-step=payment_attempt]")).ToContainTextAsync("Payment attempt 1 declined");
    }

    [Fact]
    public async Task A_card_that_asks_for_3d_secure_pays_once_the_buyer_completes_the_bank_step()
    {
        var (seeded, _) = await StorefrontEvent.SeedAsync(system);
        var buyer = await Shopper.SignInAsync(browser, system);
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("Floor");
        await buyer.Page.GetByRole(AriaRole.Radio, new() { Name = "Best available seats" }).CheckAsync();
        await buyer.Page.GetByLabel("Quantity").FillAsync("2");
        await buyer.HoldAsync();

        await buyer.PayAsync("Visa — asks for 3D Secure");

        var bankStep = buyer.Page.GetByRole(AriaRole.Heading, new() { Name = "Confirm the payment with your bank" });
        await Expect(bankStep).ToBeFocusedAsync();
        await buyer.ExpectStatusAsync("PENDING");
        await Browser.ScreenshotAsync(buyer.Page, "order-3d-secure");
        await buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Complete authentication" }).ClickAsync();
        await buyer.ExpectStatusAsync("CONFIRMED");
        await Expect(bankStep).ToBeHiddenAsync();
        buyer.AssertNothingRefusedByThePolicy();
    }

    [Fact]
    public async Task Cancelling_gives_the_seats_back_at_once()
    {
        var (seeded, seats) = await StorefrontEvent.SeedAsync(system);
        var buyer = await Shopper.SignInAsync(browser, system);
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("Floor");
        await buyer.Seat(seats[4].SeatId).ClickAsync();
        await buyer.HoldAsync();

        await buyer.Page.GetByRole(AriaRole.Button, new() { Name = "Cancel order" }).ClickAsync();

        await buyer.ExpectStatusAsync("CANCELLED");
        await Expect(buyer.Page.Locator("#pay")).ToBeHiddenAsync();
        await Expect(buyer.Page.Locator("#timeline li[data-step=cancelled]")).ToContainTextAsync("Hold released");
        await Browser.ScreenshotAsync(buyer.Page, "order-cancelled");
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("Floor");
        await buyer.ExpectSeatAsync(seats[4].SeatId, "available");
    }
}
