using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using TicketSaga.Cli.Chaos;
using TicketSaga.Cli.Commands;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Runner;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;

namespace TicketSaga.Cli.Tests;

/// <summary>
/// The whole system as `ticketsaga up --no-sweeper` runs it, with live orders in every state, then the
/// `up` process (the runtime and every sidecar) and every app, order-service included, SIGKILLed and
/// started again: each order ends as it would have without the crash, through its saga alone.
/// </summary>
public sealed class CrashRecoveryTests(PostgresServer postgres)
{
    /// <summary>
    /// Long enough for a restart on a busy machine to come back before the holds run out: on a loaded CI
    /// machine the first start and the restart took about 3 and 2.5 minutes, and 150 s was not enough.
    /// </summary>
    private static readonly TimeSpan Hold = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(10);

    [Fact]
    public async Task Live_orders_in_every_state_end_as_they_would_have_after_the_runtime_and_every_app_are_SIGKILLed()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var runFile = Path.Combine(Repository.Root, "dapr.yaml");
        var stateFolder = Path.Combine(Path.GetDirectoryName(runFile)!, ".ticketsaga", "chaos", "recovery-" + Guid.NewGuid().ToString("N")[..8]);
        await using var system = new ChaosSystem(runFile, postgres.ConnectionString, Hold, ["--no-sweeper"], stateFolder, Path.Combine(AppContext.BaseDirectory, "ticketsaga"));
        var session = await system.StartAsync(StartTimeout, cancellationToken);
        var since = DateTimeOffset.UtcNow;
        ChaosEvent sale;
        using (var tickets = AppChannel.ThroughSidecar(session.SidecarGrpcPorts[AppIds.TicketService], AppIds.TicketService, session.SidecarApiTokens.GetValueOrDefault(AppIds.TicketService)))
        using (var venues = AppChannel.ThroughSidecar(session.SidecarGrpcPorts[AppIds.VenueService], AppIds.VenueService, session.SidecarApiTokens.GetValueOrDefault(AppIds.VenueService)))
        {
            sale = await ChaosPurchases.CreateEventAsync(tickets.Invoker, venues.Invoker, purchases: 20, runId: "recovery", cancellationToken);
        }

        using var shop = new Shop(new Uri(session.Gateway), File.ReadAllText(DevSigningKey.PathBeside(runFile)).Trim(), system, sale.TicketId);

        // Before the crash: one order of each kind the saga must carry across it.
        var confirmed = await shop.PlaceAsync("confirmed");
        Assert.Equal("SUCCEEDED", await shop.PayAsync(confirmed, "pm_card_visa"));
        await shop.WaitForStatusAsync(confirmed, "CONFIRMED");
        var paid = await shop.PlaceAsync("paid");
        var cancelled = await shop.PlaceAsync("cancelled");
        var authenticating = await shop.PlaceAsync("authenticating");
        var declined = await shop.PlaceAsync("declined");
        var expiring = await shop.PlaceAsync("expiring");
        var intent = await shop.PayAsync(authenticating, "pm_card_authenticationRequired");
        Assert.StartsWith("REQUIRES_ACTION ", intent);
        Assert.Equal("DECLINED", await shop.PayAsync(declined, "pm_card_chargeDeclined"));
        // The last steps race the kill: a capture whose message has not reached order-service, a cancel
        // whose saga has not run, an order being placed.
        Assert.Equal("SUCCEEDED", await shop.PayAsync(paid, "pm_card_visa"));
        await shop.CancelAsync(cancelled);
        var placing = shop.PlaceAsync("placing");

        await system.KillAndRestartRuntimeAsync(StartTimeout, cancellationToken);

        var placed = await placing;
        Assert.Equal(placed, await shop.PlaceAsync("placing"));
        Assert.Equal("SUCCEEDED", await shop.PayAsync(placed, "pm_card_visa"));
        Assert.Equal("SUCCEEDED", await shop.PayAsync(declined, "pm_card_visa"));
        await shop.CompleteAuthenticationAsync(intent["REQUIRES_ACTION ".Length..]);

        var reader = new ChaosStateReader(postgres.ConnectionString, system.StripeJournal, RunnerOptions.DefaultRuntimeDatabase);
        using (var patience = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            patience.CancelAfter(session.HoldDuration + session.SettleWindow + TimeSpan.FromMinutes(3));
            var unsettled = await reader.WaitUntilSettledAsync(sale, session.HoldDuration, session.SettleWindow, patience.Token);
            Assert.True(unsettled is null, $"still moving 3 minutes after every hold could have ended: {unsettled}");
        }

        var state = await reader.ReadAsync(sale, since, session.SettleWindow, cancellationToken);
        Assert.Empty(InvariantChecker.Check(state));
        var statuses = state.Orders.ToDictionary(o => o.OrderId, o => o.Status);
        Assert.Equal(
            new Dictionary<Guid, string>
            {
                [confirmed] = "CONFIRMED", [paid] = "CONFIRMED", [cancelled] = "CANCELLED", [authenticating] = "CONFIRMED",
                [declined] = "CONFIRMED", [expiring] = "EXPIRED", [placed] = "CONFIRMED",
            },
            statuses);
        Assert.Empty(state.DeadLetters);
    }

    /// <summary>
    /// Customers at the gateway, one per order (the ticket type sells one per customer). Every call is
    /// retried while the system is down or the payment is not payable yet; any other answer fails the test.
    /// </summary>
    private sealed class Shop(Uri gateway, string signingKey, ChaosSystem system, Guid ticketId) : IDisposable
    {
        private static readonly TimeSpan Patience = TimeSpan.FromMinutes(12);

        private readonly HttpClient _http = new() { BaseAddress = gateway, Timeout = TimeSpan.FromSeconds(15) };
        private readonly Dictionary<Guid, string> _customers = [];
        private readonly string _run = Guid.NewGuid().ToString("N")[..8];

        /// <summary>
        /// Places the order of this run's customer of that name under the Idempotency-Key of their name, so a
        /// retry answers the same order (the gateway keeps keys for a day: another run's customers are others).
        /// </summary>
        public async Task<Guid> PlaceAsync(string name)
        {
            var customer = $"{name}-{_run}";
            var order = (await SendAsync(customer, HttpMethod.Post, "orders", new { ticket_id = ticketId, qty = 1 }, idempotencyKey: customer)).GetProperty("order_id").GetGuid();
            lock (_customers)
            {
                _customers[order] = customer;
            }

            return order;
        }

        /// <summary>The payment's status, REQUIRES_ACTION with its PaymentIntent, or DECLINED.</summary>
        public async Task<string> PayAsync(Guid order, string paymentMethod)
        {
            var payment = await SendAsync(_customers[order], HttpMethod.Post, "payments/confirm", new { order_id = order, payment_method = paymentMethod });
            if (payment.ValueKind == JsonValueKind.Undefined)
            {
                return "DECLINED";
            }

            var status = payment.GetProperty("status").GetString()!;
            return status == "REQUIRES_ACTION" ? $"{status} {payment.GetProperty("payment_intent_id").GetString()}" : status;
        }

        public async Task CancelAsync(Guid order) => await SendAsync(_customers[order], HttpMethod.Delete, $"orders/{order}", null);

        public async Task WaitForStatusAsync(Guid order, string status)
        {
            var giveUpAt = DateTimeOffset.UtcNow + TimeSpan.FromMinutes(1);
            string? seen;
            while ((seen = (await SendAsync(_customers[order], HttpMethod.Get, $"orders/{order}", null)).GetProperty("status").GetString()) != status)
            {
                Assert.True(DateTimeOffset.UtcNow < giveUpAt, $"order {order} is {seen}, not {status}");
                await Task.Delay(300);
            }
        }

        /// <summary>What the customer's 3D Secure page does at Stripe; the result reaches payment-service by webhook.</summary>
        public async Task CompleteAuthenticationAsync(string paymentIntentId)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, $"{system.StripeApiBase}/v1/payment_intents/{paymentIntentId}/test_complete_authentication")
            {
                Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["outcome"] = "succeed" }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", system.StripeApiKey);
            using var response = await _http.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode, $"3D Secure completion answered {(int)response.StatusCode}");
        }

        public void Dispose() => _http.Dispose();

        /// <summary>The answer's body; none (undefined) for a 402, a declined card.</summary>
        private async Task<JsonElement> SendAsync(string customer, HttpMethod method, string path, object? body, string? idempotencyKey = null)
        {
            var token = DevTokens.Create(new AuthSettings { SigningKey = signingKey }, customer, TimeSpan.FromHours(1));
            var giveUpAt = DateTimeOffset.UtcNow + Patience;
            while (true)
            {
                using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                if (idempotencyKey is not null)
                {
                    request.Headers.Add("Idempotency-Key", idempotencyKey);
                }

                var retry = "";
                try
                {
                    using var response = await _http.SendAsync(request);
                    var text = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode == HttpStatusCode.PaymentRequired)
                    {
                        return default;
                    }

                    if (response.IsSuccessStatusCode)
                    {
                        using var answer = JsonDocument.Parse(text);
                        return answer.RootElement.Clone();
                    }

                    // Not payable yet (the payment row is on its way), the first attempt still in progress, or a service restarting.
                    var later = (int)response.StatusCode >= 500
                        || text.Contains("not-yet-payable", StringComparison.Ordinal) || text.Contains("idempotency-key-in-progress", StringComparison.Ordinal)
                        || (response.StatusCode == HttpStatusCode.NotFound && path.StartsWith("payments", StringComparison.Ordinal));
                    Assert.True(later, $"{method} /{path} answered {(int)response.StatusCode}: {text}");
                    retry = $"{(int)response.StatusCode}";
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    retry = ex.Message;
                }

                Assert.True(DateTimeOffset.UtcNow < giveUpAt, $"{method} /{path} still failing after {Patience}: {retry}");
                await Task.Delay(500);
            }
        }
    }
}
