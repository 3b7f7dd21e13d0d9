using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using TicketSaga.ServiceDefaults;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.Cli.Chaos;

/// <summary>What a customer does with an order.</summary>
internal enum Scenario
{
    Pay,
    DeclineThenPay,
    ThreeDSecure,
    Cancel,
    Expire,
}

/// <summary>
/// The customers of a chaos run: each places one order (one seat) and then pays, is declined and pays,
/// pays through 3D Secure, cancels, or lets the hold expire. Every call is retried while the system
/// is being killed (POST /orders under one Idempotency-Key, so a retry never buys twice) until the
/// customer's own deadline: the hold's end (placing: 10 minutes more).
/// </summary>
internal sealed class ChaosPurchases(Uri gateway, string signingKey, string stripeApiBase, string stripeApiKey) : IDisposable
{
    private const string Section = "Chaos";
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan PlacePatience = TimeSpan.FromMinutes(10);

    private readonly HttpClient _http = new() { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(15) };
    private readonly ConcurrentDictionary<string, int> _outcomes = new();

    /// <summary>How each purchase ended from the customer's side, e.g. "Pay: SUCCEEDED".</summary>
    public IReadOnlyDictionary<string, int> Outcomes => new SortedDictionary<string, int>(_outcomes);

    /// <summary>A seat plan and its ticket type with a seat for every purchase, one per customer, on sale now.</summary>
    public static async Task<ChaosEvent> CreateEventAsync(CallInvoker tickets, CallInvoker venues, int purchases, string runId, CancellationToken cancellationToken)
    {
        var eventId = Guid.CreateVersion7().ToString();
        var plan = new CreateSeatPlanRequest { PlanId = Guid.CreateVersion7().ToString(), EventId = eventId, Name = $"Chaos {runId}" };
        var layout = new SectionLayout { Name = Section };
        layout.Rows.AddRange(Enumerable.Range(0, (purchases + 19) / 20).Select(row => new RowLayout { Label = $"R{row + 1}", Seats = 20 }));
        plan.Sections.Add(layout);
        await new Venues.VenuesClient(venues).CreateSeatPlanAsync(plan, cancellationToken: cancellationToken);
        var ticket = await new Tickets.TicketsClient(tickets).CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            TicketId = Guid.CreateVersion7().ToString(),
            EventId = eventId,
            Name = $"Chaos {runId}",
            Capacity = layout.Rows.Sum(r => r.Seats),
            UnitPrice = new Money { AmountMinor = 2500, Currency = "EUR" },
            MaxPerUser = 1,
            SaleStartsAt = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-1)),
            SaleEndsAt = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)),
            SeatPlanId = plan.PlanId,
            Section = Section,
        }, cancellationToken: cancellationToken);
        return new ChaosEvent(Guid.Parse(ticket.TicketId), Guid.Parse(plan.PlanId));
    }

    public async Task BuyAsync(string customer, Scenario scenario, ChaosEvent chaosEvent, TimeSpan hold, CancellationToken cancellationToken)
    {
        try
        {
            await BuyOrStopAsync(customer, scenario, chaosEvent, hold, cancellationToken);
        }
        catch (ChaosClientException ex)
        {
            Count(scenario, ex.Message);
        }
    }

    public void Dispose() => _http.Dispose();

    private async Task BuyOrStopAsync(string customer, Scenario scenario, ChaosEvent chaosEvent, TimeSpan hold, CancellationToken cancellationToken)
    {
        var token = DevTokens.Create(new AuthSettings { SigningKey = signingKey }, customer, TimeSpan.FromHours(2));
        // A restarting runtime takes minutes on a loaded machine: the customer keeps trying that long.
        var placeDeadline = DateTimeOffset.UtcNow + hold + PlacePatience;
        (Guid Id, DateTimeOffset ExpiresAt)? order = null;
        while (order is null && DateTimeOffset.UtcNow < placeDeadline)
        {
            order = await TryAsync(async () =>
            {
                using var request = Request(HttpMethod.Post, "orders", token, new { ticket_id = chaosEvent.TicketId, qty = 1 });
                request.Headers.Add("Idempotency-Key", customer);
                using var response = await _http.SendAsync(request, cancellationToken);
                if (response.StatusCode is not (HttpStatusCode.Created or HttpStatusCode.OK))
                {
                    return await RetryAsync<(Guid, DateTimeOffset)?>(response);
                }

                using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
                return (body.RootElement.GetProperty("order_id").GetGuid(), body.RootElement.GetProperty("expires_at").GetDateTimeOffset());
            }, cancellationToken);
        }

        if (order is not { } placed)
        {
            Count(scenario, "not placed");
            return;
        }

        var outcome = scenario switch
        {
            Scenario.Pay => await PayAsync(placed.Id, token, "pm_card_visa", placed.ExpiresAt, cancellationToken),
            Scenario.DeclineThenPay => await PayAsync(placed.Id, token, "pm_card_chargeDeclined", placed.ExpiresAt, cancellationToken) is "DECLINED"
                ? await PayAsync(placed.Id, token, "pm_card_visa", placed.ExpiresAt, cancellationToken)
                : "decline not seen",
            Scenario.ThreeDSecure => await AuthenticateAsync(placed.Id, token, placed.ExpiresAt, cancellationToken),
            Scenario.Cancel => await CancelAsync(placed.Id, token, placed.ExpiresAt, cancellationToken),
            _ => "left to expire",
        };
        Count(scenario, outcome);
    }

    /// <summary>The payment's status (SUCCEEDED, REQUIRES_ACTION ...), DECLINED, or why it stopped trying.</summary>
    private async Task<string> PayAsync(Guid orderId, string token, string paymentMethod, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        while (DateTimeOffset.UtcNow < expiresAt)
        {
            var answer = await TryAsync(async () =>
            {
                using var request = Request(HttpMethod.Post, "payments/confirm", token, new { order_id = orderId, payment_method = paymentMethod });
                using var response = await _http.SendAsync(request, cancellationToken);
                var text = await response.Content.ReadAsStringAsync(cancellationToken);
                if (response.StatusCode == HttpStatusCode.PaymentRequired)
                {
                    return "DECLINED";
                }

                if (response.StatusCode is HttpStatusCode.OK or HttpStatusCode.Accepted)
                {
                    using var body = JsonDocument.Parse(text);
                    var status = body.RootElement.GetProperty("status").GetString()!;
                    return status == "REQUIRES_ACTION" ? $"REQUIRES_ACTION {body.RootElement.GetProperty("payment_intent_id").GetString()}" : status;
                }

                // 409/404 not yet payable (the payment row is on its way), 503 Stripe away, 502/504 a service restarting: ask again.
                return response.StatusCode switch
                {
                    HttpStatusCode.Conflict when !text.Contains("not-yet-payable", StringComparison.Ordinal) => "refused: order not payable",
                    HttpStatusCode.NotFound => null,
                    _ => await RetryAsync<string>(response),
                };
            }, cancellationToken);
            if (answer is not null)
            {
                return answer;
            }
        }

        return "hold ended before an answer";
    }

    private async Task<string> AuthenticateAsync(Guid orderId, string token, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        var paid = await PayAsync(orderId, token, "pm_card_authenticationRequired", expiresAt, cancellationToken);
        if (!paid.StartsWith("REQUIRES_ACTION ", StringComparison.Ordinal))
        {
            return $"3DS not asked: {paid}";
        }

        var intent = paid["REQUIRES_ACTION ".Length..];
        while (DateTimeOffset.UtcNow < expiresAt)
        {
            // What the customer's 3D Secure page does; the result reaches payment-service by webhook.
            var answer = await TryAsync(async () =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, $"{stripeApiBase}/v1/payment_intents/{intent}/test_complete_authentication")
                {
                    Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["outcome"] = "succeed" }),
                };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", stripeApiKey);
                request.Headers.Add("Idempotency-Key", $"3ds-{intent}");
                using var response = await _http.SendAsync(request, cancellationToken);
                return response.IsSuccessStatusCode ? "authenticated" : await RetryAsync<string>(response);
            }, cancellationToken);
            if (answer is not null)
            {
                return answer;
            }
        }

        return "hold ended before 3DS";
    }

    private async Task<string> CancelAsync(Guid orderId, string token, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        while (DateTimeOffset.UtcNow < expiresAt)
        {
            var answer = await TryAsync(async () =>
            {
                using var request = Request(HttpMethod.Delete, $"orders/{orderId}", token, null);
                using var response = await _http.SendAsync(request, cancellationToken);
                return response.IsSuccessStatusCode ? "cancelled" : response.StatusCode == HttpStatusCode.Conflict ? "refused 409" : await RetryAsync<string>(response);
            }, cancellationToken);
            if (answer is not null)
            {
                return answer;
            }
        }

        return "hold ended before the cancel";
    }

    /// <summary>The call's answer, or null after a connection error, a timeout or a retryable status (then after a pause).</summary>
    private static async Task<T?> TryAsync<T>(Func<Task<T?>> call, CancellationToken cancellationToken)
    {
        try
        {
            if (await call() is { } answer)
            {
                return answer;
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException && !cancellationToken.IsCancellationRequested)
        {
            // A process is down: the customer tries again.
        }

        await Task.Delay(RetryDelay, cancellationToken);
        return default;
    }

    /// <summary>Nothing (ask again) for an answer that says "later"; any other stops the customer, named by its problem type.</summary>
    private static async Task<T?> RetryAsync<T>(HttpResponseMessage response)
    {
        if ((int)response.StatusCode is 409 or 429 or >= 500)
        {
            return default;
        }

        var problem = "";
        try
        {
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            problem = body.RootElement.TryGetProperty("type", out var type) ? " " + type.GetString()?.Split('/')[^1] : "";
        }
        catch (JsonException)
        {
        }

        throw new ChaosClientException($"stopped: {response.RequestMessage!.Method} answered {(int)response.StatusCode}{problem}");
    }

    private static HttpRequestMessage Request(HttpMethod method, string path, string token, object? body)
    {
        var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    private void Count(Scenario scenario, string outcome) => _outcomes.AddOrUpdate($"{scenario}: {outcome}", 1, (_, n) => n + 1);
}

/// <summary>An answer no retry can change (a 4xx other than 409/429): the purchase stops and says so.</summary>
internal sealed class ChaosClientException(string message) : Exception(message);
