using System.Net;
using System.Net.Http.Json;
using Google.Protobuf.WellKnownTypes;
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
