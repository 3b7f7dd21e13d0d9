using System.Text.Json;
using TicketSaga.Contracts;
using TicketSaga.Testing;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>At-least-once delivery and crashes: the saga's effects happen once and every order still ends.</summary>
[Collection(nameof(ShortHoldSystemTests))]
public sealed class FaultTests(ShortHoldSystem system)
{
    [Fact]
    public async Task Every_event_delivered_twice_changes_nothing_twice()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var seats = (await CatalogView.ReadAsync(anonymous, seeded)).SeatsWith("available").Take(2).ToArray();
        var paid = (await customer.PlaceOrderAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = seats })).GetProperty("order_id").GetString()!;
        var expired = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var cancelled = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        await customer.PayAsync(paid, "pm_card_visa");
        using (var cancel = await customer.CancelAsync(cancelled))
        {
            await Expect.StatusAsync(cancel, System.Net.HttpStatusCode.Accepted);
        }

        await customer.WaitForStatusAsync(paid, OrderStatuses.Confirmed);
        await customer.WaitForStatusAsync(expired, OrderStatuses.Expired);
        await customer.WaitForStatusAsync(cancelled, OrderStatuses.Cancelled);
        await Invariants.HoldAsync(system);
        var orders = new[] { paid, expired, cancelled };
        var original = await Snapshots.MessagesOfAsync(system, orders);
        await Eventually.HoldsAsync(() => Snapshots.DeliveredUpToAsync(system, original.Max(m => m.Seq), Topics.All), "the saga's messages delivered");
        var effects = await Snapshots.EffectsAsync(system);
        var catalog = await CatalogView.ReadAsync(anonymous, seeded);

        // The bus delivers every message of these sagas again, with the same CloudEvent ids, and Stripe
        // sends every webhook event again.
        var publishers = new Dictionary<string, string>
        {
            ["orders."] = AppIds.OrderService, ["payments."] = AppIds.PaymentService, ["expiration."] = AppIds.ExpirationService,
        };
        foreach (var message in original)
        {
            using var publisher = system.SidecarOf(publishers.Single(p => message.Topic.StartsWith(p.Key, StringComparison.Ordinal)).Value);
            await publisher.PublishEventAsync(Topics.PubSub, message.Topic, JsonDocument.Parse(message.DataJson).RootElement,
                new Dictionary<string, string> { ["cloudevent.id"] = message.MessageId, ["partitionKey"] = message.PartitionKey });
        }

        foreach (var stripeEvent in system.Stripe.Events.Events.Where(e => orders.Any(o => e.Json.Contains(o, StringComparison.Ordinal))))
        {
            system.Stripe.Events.Resend(stripeEvent.Id);
        }

        var republished = await Snapshots.MessagesOfAsync(system, orders);
        Assert.Equal(2 * original.Count, republished.Count);
        await Eventually.HoldsAsync(() => Snapshots.DeliveredUpToAsync(system, republished.Max(m => m.Seq), Topics.All), "the duplicates delivered");
        await Eventually.HoldsAsync(() => Task.FromResult(system.Stripe.Events.Deliveries.Count(d => d.StatusCode == 200) >= system.Stripe.Events.Events.Count),
            "the webhook events accepted again");

        Assert.Equal(effects, await Snapshots.EffectsAsync(system));
        Assert.True(catalog.SameAs(await CatalogView.ReadAsync(anonymous, seeded)), "the catalog is unchanged");
        Assert.Equal(OrderStatuses.Confirmed, await customer.StatusAsync(paid));
        Assert.Equal(OrderStatuses.Expired, await customer.StatusAsync(expired));
        Assert.Equal(OrderStatuses.Cancelled, await customer.StatusAsync(cancelled));
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task Order_service_restarted_mid_saga_still_ends_every_order()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var before = await CatalogView.ReadAsync(anonymous, seeded);
        var seats = before.SeatsWith("available").Take(2).ToArray();
        var paidWhileDown = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        var expiringWhileDown = (await customer.PlaceOrderAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = seats })).GetProperty("order_id").GetString()!;
        await customer.WaitForPaymentStatusAsync(paidWhileDown, "PENDING");

        await system.RestartOrderServiceAsync(async () =>
        {
            // Paid while order-service is gone: payment-service charges and publishes, and the message
            // waits for order-service. The other order's hold runs out meanwhile: its expiry waits too.
            await customer.PayAsync(paidWhileDown, "pm_card_visa");
            await Eventually.HoldsAsync(async () => await Snapshots.WaitingForAsync(system, AppIds.OrderService, Topics.PaymentSucceeded) > 0
                && await Snapshots.WaitingForAsync(system, AppIds.OrderService, Topics.ExpirationComplete) > 0,
                "the payment and the expiry waiting for order-service");
        });

        // The messages waited for order-service (an unreachable app is not a failed attempt), so the
        // expiry ends the other order. The paid order's own hold may also have run out by the time
        // order-service is back (a slow restart): then its expiry and its payment race, and the saga's
        // answer is either CONFIRMED or EXPIRED with the payment refunded — never stuck, never both.
        var paid = await Eventually.ReturnsAsync(() => customer.StatusAsync(paidWhileDown),
            status => status is OrderStatuses.Confirmed or OrderStatuses.Expired, $"order {paidWhileDown} to end");
        if (paid == OrderStatuses.Expired)
        {
            await customer.WaitForPaymentStatusAsync(paidWhileDown, "REFUNDED");
        }

        await customer.WaitForStatusAsync(expiringWhileDown, OrderStatuses.Expired);
        await Invariants.HoldAsync(system);
        var catalog = await CatalogView.ReadAsync(anonymous, seeded);
        Assert.Equal(before.SeatStatusById, catalog.SeatStatusById);
        var sold = paid == OrderStatuses.Confirmed ? 2 : 0;
        Assert.Equal(before.Available(seeded.GeneralAdmissionTicketId) - sold, catalog.Available(seeded.GeneralAdmissionTicketId));
    }
}
