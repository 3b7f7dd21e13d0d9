using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using TicketSaga.Contracts;
using TicketSaga.Testing;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>
/// The served /openapi/v1.json is the truth a generated client and a validating proxy rely on: a
/// realistic session through the gateway, good calls and bad ones, checked exchange by exchange.
/// </summary>
[Collection(nameof(SystemTests))]
public sealed class OpenApiContractTests(SystemUnderTest system)
{
    [Fact]
    public async Task Every_request_and_response_of_a_customer_session_agrees_with_the_served_document()
    {
        var seeded = await system.SeedEventAsync();
        OpenApiContract contract;
        using (var plain = system.Client())
        {
            contract = await OpenApiContract.LoadAsync(plain);
        }

        using var anonymous = contract.Client(system.Gateway.Address);
        using var customer = system.NewCustomer();
        using var http = contract.Client(system.Gateway.Address, customer.Http.DefaultRequestHeaders.Authorization);
        try
        {
            await ReplaySessionAsync(seeded, anonymous, http);
        }
        finally
        {
            TestContext.Current.TestOutputHelper?.WriteLine(string.Join("\n", contract.Exchanges));
        }

        contract.AssertEveryExchangeAgrees();
    }

    private static async Task ReplaySessionAsync(SeededEvent seeded, HttpClient anonymous, HttpClient http)
    {
        // The catalog, as anyone reads it.
        await ExpectAsync(anonymous.GetAsync("/events"), HttpStatusCode.OK);
        var seatMap = await ExpectAsync(anonymous.GetAsync($"/events/{seeded.EventId}/seats"), HttpStatusCode.OK);
        var seats = seatMap.GetProperty("seats").EnumerateArray()
            .Where(s => s.GetProperty("status").GetString() == "available").Select(s => s.GetProperty("seat_id").GetString()!).ToList();

        // Reserve: general admission with an Idempotency-Key (and its retry), chosen seats, seats assigned in a section.
        var key = Guid.NewGuid().ToString();
        var generalAdmission = new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 2 };
        var paid = (await ExpectAsync(http.SendAsync(Json(HttpMethod.Post, "/orders", generalAdmission, key)), HttpStatusCode.Created)).GetProperty("order_id").GetString()!;
        await ExpectAsync(http.SendAsync(Json(HttpMethod.Post, "/orders", generalAdmission, key)), HttpStatusCode.Created);
        var chosen = (await ExpectAsync(http.PostAsJsonAsync("/orders", new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = seats.Take(2) }), HttpStatusCode.Created))
            .GetProperty("order_id").GetString()!;
        var assigned = (await ExpectAsync(http.PostAsJsonAsync("/orders", new { ticket_id = seeded.SeatedTicketId, qty = 1, section = "Floor" }), HttpStatusCode.Created))
            .GetProperty("order_id").GetString()!;

        // Read them back: one, then all a page at a time.
        await ExpectAsync(http.GetAsync($"/orders/{chosen}"), HttpStatusCode.OK);
        var first = await ExpectAsync(http.GetAsync("/orders?limit=2"), HttpStatusCode.OK);
        var before = first.GetProperty("next_before").GetString()!;
        var last = await ExpectAsync(http.GetAsync($"/orders?limit=2&before={before}"), HttpStatusCode.OK);
        Assert.Equal(3, first.GetProperty("orders").GetArrayLength() + last.GetProperty("orders").GetArrayLength());
        Assert.Equal(JsonValueKind.Null, last.GetProperty("next_before").ValueKind);

        // Pay: a card that succeeds; a declined card, then one that asks for 3-D Secure on the same order.
        Assert.Equal("SUCCEEDED", (await ExpectAsync(ConfirmAsync(http, paid, "pm_card_visa"), HttpStatusCode.OK)).GetProperty("status").GetString());
        await ExpectAsync(ConfirmAsync(http, chosen, "pm_card_visa_chargeDeclined"), HttpStatusCode.PaymentRequired);
        var action = await ExpectAsync(ConfirmAsync(http, chosen, "pm_card_authenticationRequired"), HttpStatusCode.OK);
        Assert.Equal("REQUIRES_ACTION", action.GetProperty("status").GetString());
        Assert.Equal(JsonValueKind.Object, action.GetProperty("next_action").ValueKind);
        await ExpectAsync(http.GetAsync($"/payments/{chosen}"), HttpStatusCode.OK);

        // Cancel: a pending order gives its hold back; a confirmed one cannot be cancelled.
        await ExpectAsync(http.DeleteAsync($"/orders/{assigned}"), HttpStatusCode.Accepted);
        await Eventually.ReturnsAsync(
            async () => (await ExpectAsync(http.GetAsync($"/orders/{paid}"), HttpStatusCode.OK)).GetProperty("status").GetString(),
            status => status == OrderStatuses.Confirmed, $"order {paid} to be confirmed");
        await ExpectAsync(http.DeleteAsync($"/orders/{paid}"), HttpStatusCode.Conflict);

        // What happened to each order, step by step.
        var timeline = await ExpectAsync(http.GetAsync($"/orders/{paid}/timeline"), HttpStatusCode.OK);
        Assert.Equal(["created", "held", "payment_captured", "confirmed"], timeline.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("step").GetString()));
        await ExpectAsync(http.GetAsync($"/orders/{chosen}/timeline"), HttpStatusCode.OK);
        await ExpectAsync(http.GetAsync($"/orders/{Guid.NewGuid()}/timeline"), HttpStatusCode.NotFound);

        // Bad input: each is refused with a documented problem.
        await ExpectAsync(http.SendAsync(Json(HttpMethod.Post, "/orders", new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 }, key)), HttpStatusCode.UnprocessableEntity);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Get, "/orders/not-a-uuid")), HttpStatusCode.NotFound);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Delete, "/orders/not-a-uuid")), HttpStatusCode.NotFound);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Get, "/orders/not-a-uuid/timeline")), HttpStatusCode.NotFound);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Get, "/payments/not-a-uuid")), HttpStatusCode.NotFound);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Get, "/orders?limit=0")), HttpStatusCode.UnprocessableEntity);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Post, "/orders", new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 0 })), HttpStatusCode.UnprocessableEntity);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Post, "/orders", new { ticket_id = "not-a-uuid", qty = 1 })), HttpStatusCode.UnprocessableEntity);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Post, "/orders", new StringContent("ticket_id=x&qty=1", Encoding.UTF8, "text/plain"))), HttpStatusCode.UnsupportedMediaType);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Post, "/payments/confirm", new StringContent("order_id=x", Encoding.UTF8, "text/plain"))), HttpStatusCode.UnsupportedMediaType);
        await ExpectAsync(http.SendAsync(Breaking(HttpMethod.Post, "/payments/confirm", new { order_id = paid })), HttpStatusCode.BadRequest);
        await ExpectAsync(http.SendAsync(Json(HttpMethod.Post, "/orders", generalAdmission, new string('k', 300), breaksContract: true)), HttpStatusCode.BadRequest);
        await ExpectAsync(anonymous.SendAsync(Breaking(HttpMethod.Get, "/orders")), HttpStatusCode.Unauthorized);
        await ExpectAsync(anonymous.SendAsync(Breaking(HttpMethod.Post, "/payments/confirm", new { order_id = paid, payment_method = "pm_card_visa" })), HttpStatusCode.Unauthorized);
    }

    private static HttpRequestMessage Json(HttpMethod method, string path, object body, string? idempotencyKey = null, bool breaksContract = false)
    {
        var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        request.Options.Set(OpenApiContract.BreaksContract, breaksContract);
        return request;
    }

    /// <summary>A request the document says is wrong: the contract must find it so, and document the answer.</summary>
    private static HttpRequestMessage Breaking(HttpMethod method, string path, object? body = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = body as HttpContent ?? (body is null ? null : JsonContent.Create(body)) };
        request.Options.Set(OpenApiContract.BreaksContract, true);
        return request;
    }

    /// <summary>Right after POST /orders payment-service may not know the order yet (409 with Retry-After): a client retries.</summary>
    private static async Task<HttpResponseMessage> ConfirmAsync(HttpClient http, string orderId, string paymentMethod) =>
        await Eventually.ReturnsAsync(
            () => http.PostAsJsonAsync("/payments/confirm", new { order_id = orderId, payment_method = paymentMethod }),
            response => response.StatusCode != HttpStatusCode.Conflict || !response.Headers.Contains("Retry-After"),
            $"the payment of {orderId} to be payable", seconds: 30);

    private static async Task<JsonElement> ExpectAsync(Task<HttpResponseMessage> sending, HttpStatusCode status)
    {
        using var response = await sending;
        return await Expect.StatusAsync(response, status);
    }
}
