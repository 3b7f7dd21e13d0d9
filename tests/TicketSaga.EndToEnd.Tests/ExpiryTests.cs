using System.Net;
using TicketSaga.Contracts;
using TicketSaga.Testing;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>Holds of a few seconds: the expiration actor's reminder ends unpaid orders and gives everything back.</summary>
[Collection(nameof(ShortHoldSystemTests))]
public sealed class ExpiryTests(ShortHoldSystem system)
{
    [Fact]
    public async Task Unpaid_order_expires_and_its_tickets_and_seats_are_back_in_the_catalog()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var before = await CatalogView.ReadAsync(anonymous, seeded);
        var seats = before.SeatsWith("available").Take(3).ToArray();

        var seated = (await customer.PlaceOrderAsync(new { ticket_id = seeded.SeatedTicketId, qty = 3, seat_ids = seats })).GetProperty("order_id").GetString()!;
        var general = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        var held = await CatalogView.ReadAsync(anonymous, seeded);
        Assert.Equal(seats.Order(), held.SeatsWith("held"));
        Assert.Equal(before.Available(seeded.GeneralAdmissionTicketId) - 2, held.Available(seeded.GeneralAdmissionTicketId));

        foreach (var orderId in new[] { seated, general })
        {
            var order = await customer.WaitForStatusAsync(orderId, OrderStatuses.Expired);
            Assert.Equal(CancellationReasons.Expired, order.GetProperty("cancellation_reason").GetString());
        }

        var after = await CatalogView.ReadAsync(anonymous, seeded);
        Assert.True(before.SameAs(after), $"the catalog is as before the orders: {before} / {after}");
        using (var late = await customer.ConfirmAsync(general, "pm_card_visa"))
        {
            await Expect.ProblemAsync(late, HttpStatusCode.Conflict, "order-not-payable");
        }

        Assert.Empty(system.IntentsOf(general));
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task Payment_captured_as_the_hold_runs_out_is_refunded_and_the_order_stays_expired()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var before = await CatalogView.ReadAsync(anonymous, seeded);
        var orderId = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        var payment = await customer.PayAsync(orderId, "pm_card_authenticationRequired", "REQUIRES_ACTION");
        var intentId = payment.GetProperty("payment_intent_id").GetString()!;

        // The customer finishes 3D Secure, but Stripe's word (the webhook) is late: the order expires
        // first, with money captured that payment-service does not know of yet.
        system.Stripe.Events.Hold();
        try
        {
            await system.CompleteAuthenticationAsync(intentId);
            await customer.WaitForStatusAsync(orderId, OrderStatuses.Expired);
            await customer.WaitForPaymentStatusAsync(orderId, "REFUNDED");
        }
        finally
        {
            system.Stripe.Events.Release();
        }

        var succeeded = system.Stripe.Events.Events.Single(e => e.Type == "payment_intent.succeeded" && e.Json.Contains(intentId, StringComparison.Ordinal));
        await Eventually.HoldsAsync(() => Task.FromResult(system.Stripe.Events.Deliveries.Any(d => d.EventId == succeeded.Id && d.StatusCode == 200)),
            "the late payment_intent.succeeded accepted by the webhook");
        var intent = Assert.Single(system.IntentsOf(orderId));
        Assert.Equal(intent.AmountReceived, intent.AmountRefunded);
        Assert.Equal(2 * seeded.GaPriceMinor, intent.AmountRefunded);
        await Invariants.HoldAsync(system);
        Assert.Equal(OrderStatuses.Expired, await customer.StatusAsync(orderId));
        Assert.Equal("REFUNDED", (await customer.PaymentAsync(orderId)).GetProperty("status").GetString());
        Assert.True(before.SameAs(await CatalogView.ReadAsync(anonymous, seeded)), "nothing was sold");
    }

    [Fact]
    public async Task Authentication_finished_after_expiry_never_confirms_the_order()
    {
        var seeded = await system.SeedEventAsync();
        using var customer = system.NewCustomer();
        var orderId = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var payment = await customer.PayAsync(orderId, "pm_card_authenticationRequired", "REQUIRES_ACTION");
        await customer.WaitForStatusAsync(orderId, OrderStatuses.Expired);

        // Too late: Stripe refuses when payment-service already cancelled the intent; if it got there
        // first, the money is captured and must be refunded. Either way the order stays EXPIRED.
        using var late = await system.TryCompleteAuthenticationAsync(payment.GetProperty("payment_intent_id").GetString()!);

        await Eventually.ReturnsAsync(async () => (await customer.PaymentAsync(orderId)).GetProperty("status").GetString(),
            s => s is "CANCELLED" or "REFUNDED", "the payment to be cancelled or refunded");
        await Invariants.HoldAsync(system);
        Assert.Equal(OrderStatuses.Expired, await customer.StatusAsync(orderId));
    }
}
