using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>One user of the public API: everything goes through the gateway with the user's own token.</summary>
public sealed class Customer : IDisposable
{
    public Customer(HttpClient http, string userId, AuthSettings auth)
    {
        Http = http;
        UserId = userId;
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", DevTokens.Create(auth, userId, TimeSpan.FromHours(1)));
    }

    public HttpClient Http { get; }

    public string UserId { get; }

    public async Task<HttpResponseMessage> PlaceAsync(object body, string? idempotencyKey = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null)
        {
            request.Headers.Add("Idempotency-Key", idempotencyKey);
        }

        return await Http.SendAsync(request);
    }

    /// <summary>Places an order that must be accepted; returns the 201 body.</summary>
    public async Task<JsonElement> PlaceOrderAsync(object body)
    {
        using var response = await PlaceAsync(body);
        return await Expect.StatusAsync(response, HttpStatusCode.Created);
    }

    public async Task<JsonElement> OrderAsync(string orderId)
    {
        using var response = await Http.GetAsync($"/orders/{orderId}");
        return await Expect.StatusAsync(response, HttpStatusCode.OK);
    }

    public async Task<string> StatusAsync(string orderId) => (await OrderAsync(orderId)).GetProperty("status").GetString()!;

    public async Task<JsonElement> WaitForStatusAsync(string orderId, string status) =>
        await Eventually.ReturnsAsync(() => OrderAsync(orderId), o => o.GetProperty("status").GetString() == status, $"order {orderId} to become {status}");

    public Task<HttpResponseMessage> CancelAsync(string orderId) => Http.DeleteAsync($"/orders/{orderId}");

    /// <summary>
    /// POST /payments/confirm. Right after POST /orders, payment-service may not have heard of the order
    /// yet (409 order-not-yet-payable with Retry-After): a client retries that, as this does.
    /// </summary>
    public async Task<HttpResponseMessage> ConfirmAsync(string orderId, string paymentMethod)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await Http.PostAsJsonAsync("/payments/confirm", new { order_id = orderId, payment_method = paymentMethod });
            if (response.StatusCode != HttpStatusCode.Conflict || DateTime.UtcNow > deadline
                || !(await response.Content.ReadAsStringAsync()).Contains("order-not-yet-payable", StringComparison.Ordinal))
            {
                return response;
            }

            response.Dispose();
            await Task.Delay(100);
        }
    }

    /// <summary>Pays and expects Stripe's answer to be <paramref name="expectedPaymentStatus"/> (200).</summary>
    public async Task<JsonElement> PayAsync(string orderId, string paymentMethod, string expectedPaymentStatus = "SUCCEEDED")
    {
        using var response = await ConfirmAsync(orderId, paymentMethod);
        var payment = await Expect.StatusAsync(response, HttpStatusCode.OK);
        Assert.Equal(expectedPaymentStatus, payment.GetProperty("status").GetString());
        return payment;
    }

    public async Task<JsonElement> PaymentAsync(string orderId)
    {
        using var response = await Http.GetAsync($"/payments/{orderId}");
        return await Expect.StatusAsync(response, HttpStatusCode.OK);
    }

    /// <summary>Waits for the payment's status; until orders.order.created reaches payment-service, it has no payment (404).</summary>
    public async Task<JsonElement> WaitForPaymentStatusAsync(string orderId, string status) =>
        await Eventually.ReturnsAsync(
            async () =>
            {
                using var response = await Http.GetAsync($"/payments/{orderId}");
                return response.StatusCode == HttpStatusCode.NotFound ? default : await Expect.StatusAsync(response, HttpStatusCode.OK);
            },
            p => p.ValueKind == JsonValueKind.Object && p.GetProperty("status").GetString() == status,
            $"the payment of {orderId} to become {status}");

    public void Dispose() => Http.Dispose();
}

public static class Expect
{
    public static async Task<JsonElement> StatusAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} from {response.RequestMessage?.Method} {response.RequestMessage?.RequestUri?.PathAndQuery}, got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>The response is an RFC 9457 problem with this status and, when given, this type.</summary>
    public static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? type = null)
    {
        var problem = await StatusAsync(response, status);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        if (type is not null)
        {
            Assert.Equal("https://ticketsaga.dev/problems/" + type, problem.GetProperty("type").GetString());
        }

        return problem;
    }
}
