using System.Net;
using System.Net.Http.Json;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.Gateway.Tests;

/// <summary>The sold-out fast path against the real ticket-service, with holds released while buyers rush.</summary>
[Collection(nameof(GatewayTests))]
public sealed class SoldOutTests(GatewaySystem system)
{
    private const int Capacity = 5;

    [Fact]
    public async Task Sold_out_is_answered_without_a_hold_attempt_and_every_released_hold_is_offered_to_the_next_buyer()
    {
        var ticketId = await SeedAsync();
        var holds = new List<string>();
        for (var i = 0; i < Capacity; i++)
        {
            holds.Add(await HoldAsync(ticketId));
        }

        var rusher = GatewaySystem.NewUser();
        using var rush = system.Client(rusher);
        // What order-service answers when nothing is left: forwarded buyers are told so by the stand-in.
        rush.DefaultRequestHeaders.Add("X-Test-Status", "409");
        var order = new { ticket_id = ticketId, qty = 1 };
        using (var first = await rush.PostAsJsonAsync("/orders", order))
        {
            Assert.Equal(HttpStatusCode.Conflict, first.StatusCode);
        }

        var fastAnswers = 0;
        using var stop = new CancellationTokenSource();
        var buyers = Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                using var response = await rush.PostAsJsonAsync("/orders", order);
                if (response.Content.Headers.ContentType?.MediaType == "application/problem+json")
                {
                    await response.AssertProblemAsync(HttpStatusCode.Conflict, "sold-out");
                    Interlocked.Increment(ref fastAnswers);
                }
            }
        })).ToList();

        try
        {
            for (var released = 0; released < Capacity; released++)
            {
                await AssertNothingForwardedWhileSoldOutAsync(rusher, () => Volatile.Read(ref fastAnswers));

                // The hold expires; the very next buyer must be let through to try for it.
                await system.Tickets.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = holds[released], Reason = ReleaseReason.Expired });
                using var probe = system.Client(GatewaySystem.NewUser());
                using var offered = await probe.PostAsJsonAsync("/orders", order);
                Assert.Equal(HttpStatusCode.Created, offered.StatusCode);

                // ... and takes it (what order-service would have done).
                await HoldAsync(ticketId);
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(buyers);
        }
    }

    [Fact]
    public async Task A_body_that_order_service_could_read_another_way_is_refused_at_the_door_and_not_forwarded()
    {
        var soldOut = await SeedAsync();
        for (var i = 0; i < Capacity; i++)
        {
            await HoldAsync(soldOut);
        }

        var other = Guid.NewGuid();
        var buyer = GatewaySystem.NewUser();
        using var http = system.Client(buyer);
        // What order-service answers when nothing is left; from then on the door answers sold out itself.
        http.DefaultRequestHeaders.Add("X-Test-Status", "409");
        using (var first = await http.PostAsJsonAsync("/orders", new { ticket_id = soldOut, qty = 1 }))
        {
            Assert.Equal(HttpStatusCode.Conflict, first.StatusCode);
        }

        var forwarded = system.Orders.ReceivedFrom(buyer).Count;
        (string Body, Encoding Encoding, HttpStatusCode Status)[] bodies =
        [
            ($$"""{"TICKET_ID":"{{soldOut}}","qty":1}""", Encoding.UTF8, HttpStatusCode.BadRequest),
            ($$"""{"ticket_id":"{{other}}","Ticket_Id":"{{soldOut}}","qty":1}""", Encoding.UTF8, HttpStatusCode.BadRequest),
            ($$"""{"ticket_id":"{{other}}","ticket_id":"{{soldOut}}","qty":1}""", Encoding.UTF8, HttpStatusCode.BadRequest),
            ($$"""{"ticket_id":"{{soldOut}}","qty":1}""", Encoding.Unicode, HttpStatusCode.UnsupportedMediaType),
            ("""{"ticket_id":""", Encoding.UTF8, HttpStatusCode.BadRequest),
        ];

        foreach (var (body, encoding, status) in bodies)
        {
            using var content = new StringContent(body, encoding, "application/json");
            using var response = await http.PostAsync("/orders", content);
            await response.AssertProblemAsync(status, status == HttpStatusCode.BadRequest ? "malformed-body" : "unsupported-media-type");
        }

        Assert.Equal(forwarded, system.Orders.ReceivedFrom(buyer).Count);
    }

    [Fact]
    public async Task A_retry_with_a_key_already_used_gets_that_keys_answer_even_once_the_door_says_sold_out()
    {
        var ticketId = await SeedAsync();
        var (answered, unknown) = (GatewaySystem.NewUser(), GatewaySystem.NewUser());
        using var answeredBuyer = system.Client(answered);
        using var unknownBuyer = system.Client(unknown);
        var body = $$"""{"ticket_id":"{{ticketId}}","qty":1}""";
        using (var placed = await IdempotencyTests.CreateOrderAsync(answeredBuyer, "lost-answer", body))
        {
            Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
        }

        // This buyer's answer is lost on the way (a 5xx): whether their order took a ticket is unknown.
        using (var failed = await IdempotencyTests.CreateOrderAsync(unknownBuyer, "unknown-outcome", body, status: 500))
        {
            Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        }

        for (var i = 0; i < Capacity; i++)
        {
            await HoldAsync(ticketId);
        }

        using var rush = system.Client(GatewaySystem.NewUser());
        using (var learns = await IdempotencyTests.CreateOrderAsync(rush, null, body, status: 409))
        {
            Assert.Equal(HttpStatusCode.Conflict, learns.StatusCode);
        }

        using (var doorShut = await IdempotencyTests.CreateOrderAsync(rush, "new-key", body))
        {
            await doorShut.AssertProblemAsync(HttpStatusCode.Conflict, "sold-out");
        }

        using var replayed = await IdempotencyTests.CreateOrderAsync(answeredBuyer, "lost-answer", body);
        using var forwardedAgain = await IdempotencyTests.CreateOrderAsync(unknownBuyer, "unknown-outcome", body);

        Assert.Equal(HttpStatusCode.Created, replayed.StatusCode);
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Single(system.Orders.ReceivedFrom(answered));
        Assert.Equal(HttpStatusCode.Created, forwardedAgain.StatusCode);
        Assert.Equal(2, system.Orders.ReceivedFrom(unknown).Count);
    }

    [Fact]
    public async Task A_retry_of_a_key_whose_client_left_before_the_answer_meets_the_door_like_a_new_request()
    {
        var ticketId = await SeedAsync();
        var user = GatewaySystem.NewUser();
        using var buyer = system.Client(user);
        var body = $$"""{"ticket_id":"{{ticketId}}","qty":1}""";
        var key = Guid.NewGuid().ToString();
        var gate = system.Orders.GateFor(key);

        // The buyer is let in, and hangs up before order-service answers (order-service then gives its key back).
        using (var leaving = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken))
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            request.Headers.Add("Idempotency-Key", key);
            request.Headers.Add("X-Test-Gate", key);
            var abandoned = buyer.SendAsync(request, leaving.Token);
            await gate.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        }

        gate.Opened.SetResult();
        await Eventually.HoldsAsync(async () => await KeyRowsAsync(user, key) == 0, "the abandoned key forgotten");
        for (var i = 0; i < Capacity; i++)
        {
            await HoldAsync(ticketId);
        }

        using var rush = system.Client(GatewaySystem.NewUser());
        using (var learns = await IdempotencyTests.CreateOrderAsync(rush, null, body, status: 409))
        {
            Assert.Equal(HttpStatusCode.Conflict, learns.StatusCode);
        }

        using var retried = await IdempotencyTests.CreateOrderAsync(buyer, key, body);

        await retried.AssertProblemAsync(HttpStatusCode.Conflict, "sold-out");
        Assert.Single(system.Orders.ReceivedFrom(user));
    }

    private async Task<long> KeyRowsAsync(string user, string key)
    {
        await using var connection = new NpgsqlConnection(system.GatewayDatabase);
        await connection.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM idempotency_keys WHERE user_id = @user AND idempotency_key = @key", connection);
        count.Parameters.AddWithValue("user", user);
        count.Parameters.AddWithValue("key", key);
        return (long)(await count.ExecuteScalarAsync())!;
    }

    /// <summary>Sold out: buyers keep being answered at the gateway, and none reaches order-service.</summary>
    private async Task AssertNothingForwardedWhileSoldOutAsync(string rusher, Func<int> fastAnswers)
    {
        var seen = fastAnswers();
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (fastAnswers() < seen + 3 && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        // Requests that read availability before the last hold was taken may still be on their way.
        await Task.Delay(200);
        var forwarded = system.Orders.ReceivedFrom(rusher).Count;
        var answered = fastAnswers();
        await Task.Delay(500);

        Assert.True(fastAnswers() > answered, "buyers keep being answered sold out");
        Assert.Equal(forwarded, system.Orders.ReceivedFrom(rusher).Count);
    }

    private async Task<string> HoldAsync(string ticketId)
    {
        var reservationId = Guid.NewGuid().ToString();
        var hold = await system.Tickets.ReserveQuotaAsync(new ReserveQuotaRequest
        {
            TicketId = ticketId,
            ReservationId = reservationId,
            UserId = GatewaySystem.NewUser(),
            Qty = 1,
            ExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(10)),
        });
        Assert.True(hold.Success);
        return reservationId;
    }

    private async Task<string> SeedAsync()
    {
        var ticket = await system.Tickets.CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            EventId = Guid.NewGuid().ToString(),
            Name = "General admission",
            Capacity = Capacity,
            UnitPrice = new Money { AmountMinor = 3000, Currency = "EUR" },
            MaxPerUser = 4,
            SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
            SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)),
        });
        return ticket.TicketId;
    }
}
