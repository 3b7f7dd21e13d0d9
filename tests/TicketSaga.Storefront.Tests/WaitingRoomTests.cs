using System.Text.RegularExpressions;
using Microsoft.Playwright;
using TicketSaga.EndToEnd.Tests;
using static Microsoft.Playwright.Assertions;

namespace TicketSaga.Storefront.Tests;

/// <summary>A buyer the gateway's waiting room holds back, as they meet it in the browser.</summary>
[Collection(nameof(SystemTests))]
public sealed class WaitingRoomTests(SystemUnderTest system, Browser browser)
{
    [Fact]
    public async Task A_queued_buyer_sees_their_place_and_gets_the_seat_when_their_turn_comes_without_clicking_again()
    {
        var (seeded, seats) = await StorefrontEvent.SeedAsync(system, system.QueuedEventId);
        var buyer = await Shopper.SignInAsync(browser, system);
        await buyer.OpenEventAsync(seeded.EventId);
        await buyer.ChooseTicketTypeAsync("Floor");
        await buyer.Seat(seats[0].SeatId).ClickAsync();
        // The room admits one buyer every 8 s: whoever comes right after this one waits for the next turn.
        using var first = system.NewCustomer();
        await first.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 });

        var orderPosts = new System.Collections.Concurrent.ConcurrentQueue<IRequest>();
        buyer.Page.Request += (_, request) =>
        {
            if (request.Method == "POST" && new Uri(request.Url).AbsolutePath == "/orders")
            {
                orderPosts.Enqueue(request);
            }
        };

        await buyer.Hold.ClickAsync();

        await Expect(buyer.Page.GetByRole(AriaRole.Status).Filter(new() { HasText = "in the queue" }))
            .ToContainTextAsync(new Regex(@"You are number 1 in the queue\. Keep this page open: we ask again in \d+ s\."));
        await Expect(buyer.Hold).ToBeDisabledAsync();
        await Browser.ScreenshotAsync(buyer.Page, "event-waiting-room");
        await buyer.OrderPageOpenedAsync();
        await Expect(buyer.Page.GetByText($"1 ticket · seats {seats[0].Label}", new() { Exact = true })).ToBeVisibleAsync();
        // Each visit after the first presented the place the room gave (its Queue-Token).
        var sent = orderPosts.ToArray();
        Assert.True(sent.Length >= 2, $"the order was sent again after the wait ({sent.Length} POST /orders)");
        Assert.Null(sent[0].Headers.GetValueOrDefault("queue-token"));
        Assert.All(sent[1..], request => Assert.False(string.IsNullOrEmpty(request.Headers.GetValueOrDefault("queue-token"))));
        // Every visit sent the same order (one Idempotency-Key): the buyer has that one order.
        await buyer.Page.GetByRole(AriaRole.Navigation, new() { Name = "Main" }).GetByRole(AriaRole.Link, new() { Name = "My orders" }).ClickAsync();
        await Expect(buyer.Page.Locator("tbody tr")).ToHaveCountAsync(1);
    }
}
