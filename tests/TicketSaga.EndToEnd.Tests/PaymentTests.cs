using System.Net;
using TicketSaga.Contracts;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>Paying through the gateway with Stripe's test cards; the webhook comes back through the gateway too.</summary>
[Collection(nameof(SystemTests))]
public sealed class PaymentTests(SystemUnderTest system)
{
    [Fact]
    public async Task Declined_card_then_another_card_confirms_the_order()
    {
        var seeded = await system.SeedEventAsync();
        using var customer = system.NewCustomer();
        var orderId = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 })).GetProperty("order_id").GetString()!;

        using (var declined = await customer.ConfirmAsync(orderId, "pm_card_chargeDeclined"))
        {
            var problem = await Expect.ProblemAsync(declined, HttpStatusCode.PaymentRequired, "payment-declined");
            Assert.Equal("generic_decline", problem.GetProperty("decline_code").GetString());
        }

        Assert.Equal(OrderStatuses.Pending, await customer.StatusAsync(orderId));
        await customer.PayAsync(orderId, "pm_card_visa");

        await customer.WaitForStatusAsync(orderId, OrderStatuses.Confirmed);
        var intent = Assert.Single(system.IntentsOf(orderId));
        Assert.Equal(seeded.GaPriceMinor, intent.AmountReceived);
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task Payment_requiring_authentication_is_settled_by_the_webhook()
    {
        var seeded = await system.SeedEventAsync();
        using var customer = system.NewCustomer();
        var orderId = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 })).GetProperty("order_id").GetString()!;

        var payment = await customer.PayAsync(orderId, "pm_card_authenticationRequired", "REQUIRES_ACTION");
        Assert.False(string.IsNullOrEmpty(payment.GetProperty("client_secret").GetString()));
        Assert.Equal(OrderStatuses.Pending, await customer.StatusAsync(orderId));

        await system.CompleteAuthenticationAsync(payment.GetProperty("payment_intent_id").GetString()!);

        await customer.WaitForStatusAsync(orderId, OrderStatuses.Confirmed);
        Assert.Equal("SUCCEEDED", (await customer.PaymentAsync(orderId)).GetProperty("status").GetString());
        Assert.Contains(system.Stripe.Events.Deliveries, d => d.Type == "payment_intent.succeeded" && d.StatusCode == 200);
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task The_same_confirm_sent_twice_charges_once()
    {
        var seeded = await system.SeedEventAsync();
        using var customer = system.NewCustomer();
        var orderId = (await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        await customer.WaitForPaymentStatusAsync(orderId, "PENDING");

        var confirms = await Task.WhenAll(customer.ConfirmAsync(orderId, "pm_card_visa"), customer.ConfirmAsync(orderId, "pm_card_visa"));
        using var again = await customer.ConfirmAsync(orderId, "pm_card_visa");

        foreach (var response in confirms.Append(again))
        {
            // Each answer says the order is paid (the second one after the first's lock, or a replay): none charges again.
            var body = await Expect.StatusAsync(response, HttpStatusCode.OK);
            Assert.Equal("SUCCEEDED", body.GetProperty("status").GetString());
            response.Dispose();
        }

        await customer.WaitForStatusAsync(orderId, OrderStatuses.Confirmed);
        var intent = Assert.Single(system.IntentsOf(orderId));
        Assert.Equal(2 * seeded.GaPriceMinor, intent.AmountReceived);
        Assert.Single(system.Stripe.Events.Events, e => e.Type == "payment_intent.succeeded" && e.Json.Contains(intent.Id, StringComparison.Ordinal));
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task Customer_cancel_gives_the_hold_back_and_cancels_the_payment_intent()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var before = await CatalogView.ReadAsync(anonymous, seeded);
        var seats = before.SeatsWith("available").Take(2).ToArray();
        var orderId = (await customer.PlaceOrderAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = seats })).GetProperty("order_id").GetString()!;
        var payment = await customer.PayAsync(orderId, "pm_card_authenticationRequired", "REQUIRES_ACTION");

        using (var cancel = await customer.CancelAsync(orderId))
        {
            await Expect.StatusAsync(cancel, HttpStatusCode.Accepted);
        }

        var order = await customer.WaitForStatusAsync(orderId, OrderStatuses.Cancelled);
        Assert.Equal(CancellationReasons.CancelledByCustomer, order.GetProperty("cancellation_reason").GetString());
        await customer.WaitForPaymentStatusAsync(orderId, "CANCELLED");
        Assert.Equal("canceled", Assert.Single(system.IntentsOf(orderId)).Status);
        Assert.Equal(payment.GetProperty("payment_intent_id").GetString(), Assert.Single(system.IntentsOf(orderId)).Id);
        Assert.True(before.SameAs(await CatalogView.ReadAsync(anonymous, seeded)), "the catalog is as before the order");

        // A cancelled order can no longer be paid, and nothing is charged.
        using (var late = await customer.ConfirmAsync(orderId, "pm_card_visa"))
        {
            await Expect.ProblemAsync(late, HttpStatusCode.Conflict, "order-not-payable");
        }

        Assert.Equal(0, Assert.Single(system.IntentsOf(orderId)).AmountReceived);
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task A_refund_made_at_Stripe_ends_the_confirmed_order_refunded_and_puts_its_seats_back_on_sale()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var seats = (await CatalogView.ReadAsync(anonymous, seeded)).SeatsWith("available").Take(2).ToArray();
        var orderId = (await customer.PlaceOrderAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = seats })).GetProperty("order_id").GetString()!;
        var payment = await customer.PayAsync(orderId, "pm_card_visa");
        await customer.WaitForStatusAsync(orderId, OrderStatuses.Confirmed);

        await system.RefundFromDashboardAsync(payment.GetProperty("payment_intent_id").GetString()!);

        await customer.WaitForStatusAsync(orderId, OrderStatuses.Refunded);
        Assert.Equal("REFUNDED", (await customer.PaymentAsync(orderId)).GetProperty("status").GetString());
        Assert.Contains(system.Stripe.Events.Deliveries, d => d.Type is "refund.created" or "charge.refunded" && d.StatusCode == 200);
        var catalog = await CatalogView.ReadAsync(anonymous, seeded);
        Assert.Subset(catalog.SeatsWith("available").ToHashSet(), seats.ToHashSet());
        await Invariants.HoldAsync(system);
    }
}
