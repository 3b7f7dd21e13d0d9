using System.Net;
using System.Net.Http.Json;
using System.Text;
using TicketSaga.Contracts;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>The public API's edges: Idempotency-Key on POST /orders, and bad input everywhere changing nothing.</summary>
[Collection(nameof(SystemTests))]
public sealed class PublicApiTests(SystemUnderTest system)
{
    [Fact]
    public async Task The_same_Idempotency_Key_through_the_gateway_creates_one_order()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var key = Guid.NewGuid().ToString();
        var body = new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 2 };

        using var first = await customer.PlaceAsync(body, key);
        using var second = await customer.PlaceAsync(body, key);
        using var reused = await customer.PlaceAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 }, key);

        var created = await Expect.StatusAsync(first, HttpStatusCode.Created);
        var replayed = await Expect.StatusAsync(second, HttpStatusCode.Created);
        Assert.Equal(created.GetProperty("order_id").GetString(), replayed.GetProperty("order_id").GetString());
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        await Expect.ProblemAsync(reused, HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        var mine = await customer.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/orders");
        Assert.Single(mine.GetProperty("orders").EnumerateArray());
        Assert.Equal(18, (await CatalogView.ReadAsync(anonymous, seeded)).Available(seeded.GeneralAdmissionTicketId));

        var orderId = created.GetProperty("order_id").GetString()!;
        using (var cancel = await customer.CancelAsync(orderId))
        {
            await Expect.StatusAsync(cancel, HttpStatusCode.Accepted);
        }

        await customer.WaitForStatusAsync(orderId, OrderStatuses.Cancelled);
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task Bad_input_on_every_public_endpoint_is_a_problem_and_changes_nothing()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var other = system.NewCustomer();
        using var customer = system.NewCustomer();
        var othersOrder = (await other.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        await other.WaitForPaymentStatusAsync(othersOrder, "PENDING");
        var before = await CatalogView.ReadAsync(anonymous, seeded);
        var intents = system.Stripe.Ledger.PaymentIntents.Count;
        var seat = before.SeatsWith("available")[0];
        var unknown = Guid.NewGuid().ToString();

        // POST /orders
        await ProblemAsync(anonymous.PostAsJsonAsync("/orders", new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 }), HttpStatusCode.Unauthorized, "unauthorized");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = "not-a-uuid", qty = 1 }), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 0 }), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 5 }), HttpStatusCode.UnprocessableEntity);
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = unknown, qty = 1 }), HttpStatusCode.NotFound, "ticket-not-found");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1, seat_ids = new[] { seat } }), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = new[] { seat } }), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = new[] { seat, seat } }), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = new[] { seat, unknown } }), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.SeatedTicketId, qty = 1, seat_ids = (string[])["A1"] }), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.PlaceAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 }, new string('k', 300)), HttpStatusCode.BadRequest, "invalid-idempotency-key");
        await ProblemAsync(customer.Http.PostAsync("/orders", new StringContent("{not json", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest);

        // GET /orders, GET and DELETE /orders/{id}: someone else's order reads as missing.
        await ProblemAsync(customer.Http.GetAsync($"/orders/{unknown}"), HttpStatusCode.NotFound, "order-not-found");
        await ProblemAsync(customer.Http.GetAsync($"/orders/{othersOrder}"), HttpStatusCode.NotFound, "order-not-found");
        await ProblemAsync(anonymous.GetAsync($"/orders/{othersOrder}"), HttpStatusCode.Unauthorized, "unauthorized");
        await ProblemAsync(customer.Http.GetAsync("/orders?limit=0"), HttpStatusCode.UnprocessableEntity, "invalid-order");
        await ProblemAsync(customer.CancelAsync(unknown), HttpStatusCode.NotFound, "order-not-found");
        await ProblemAsync(customer.CancelAsync(othersOrder), HttpStatusCode.NotFound, "order-not-found");

        // POST /payments/confirm, GET /payments/{order_id}: someone else's order cannot be paid or read.
        await ProblemAsync(customer.Http.PostAsJsonAsync("/payments/confirm", new { order_id = "nope", payment_method = "pm_card_visa" }), HttpStatusCode.BadRequest, "invalid-request");
        await ProblemAsync(customer.Http.PostAsJsonAsync("/payments/confirm", new { order_id = othersOrder }), HttpStatusCode.BadRequest, "invalid-request");
        await ProblemAsync(customer.Http.PostAsJsonAsync("/payments/confirm", new { order_id = othersOrder, payment_method = "pm_card_visa" }), HttpStatusCode.NotFound, "order-not-found");
        await ProblemAsync(customer.Http.PostAsJsonAsync("/payments/confirm", new { order_id = unknown, payment_method = "pm_card_visa" }), HttpStatusCode.NotFound, "order-not-found");
        await ProblemAsync(other.Http.PostAsJsonAsync("/payments/confirm", new { order_id = othersOrder, payment_method = "pm_card_nonsense" }), HttpStatusCode.BadRequest, "invalid-payment-method");
        await ProblemAsync(anonymous.PostAsJsonAsync("/payments/confirm", new { order_id = othersOrder, payment_method = "pm_card_visa" }), HttpStatusCode.Unauthorized, "unauthorized");
        await ProblemAsync(customer.Http.GetAsync($"/payments/{othersOrder}"), HttpStatusCode.NotFound, "order-not-found");

        // POST /payments/webhook: only what Stripe signed.
        const string forged = """{"id":"evt_forged","object":"event","type":"payment_intent.succeeded","api_version":"2026-10-28.endive","data":{"object":{"id":"pi_x","object":"payment_intent"}}}""";
        await ProblemAsync(anonymous.PostAsync("/payments/webhook", new StringContent(forged, Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, "invalid-webhook-signature");
        using (var badlySigned = new HttpRequestMessage(HttpMethod.Post, "/payments/webhook") { Content = new StringContent(forged, Encoding.UTF8, "application/json") })
        {
            badlySigned.Headers.Add("Stripe-Signature", $"t={DateTimeOffset.UtcNow.ToUnixTimeSeconds()},v1={new string('0', 64)}");
            await ProblemAsync(anonymous.SendAsync(badlySigned), HttpStatusCode.BadRequest, "invalid-webhook-signature");
        }

        // GET /events/{id}/seats
        await ProblemAsync(anonymous.GetAsync("/events/not-a-uuid/seats"), HttpStatusCode.BadRequest, "invalid-event-id");
        await ProblemAsync(anonymous.GetAsync($"/events/{unknown}/seats"), HttpStatusCode.NotFound, "unknown-event");

        var after = await CatalogView.ReadAsync(anonymous, seeded);
        Assert.True(before.SameAs(after), $"the catalog is unchanged: {before} / {after}");
        Assert.Equal(intents, system.Stripe.Ledger.PaymentIntents.Count);
        Assert.Empty((await customer.Http.GetFromJsonAsync<System.Text.Json.JsonElement>("/orders")).GetProperty("orders").EnumerateArray());
        Assert.Equal(OrderStatuses.Pending, await other.StatusAsync(othersOrder));
        Assert.Equal("PENDING", (await other.PaymentAsync(othersOrder)).GetProperty("status").GetString());
        await Invariants.HoldAsync(system);
    }

    private static async Task ProblemAsync(Task<HttpResponseMessage> sending, HttpStatusCode status, string? type = null)
    {
        using var response = await sending;
        await Expect.ProblemAsync(response, status, type);
    }
}
