using System.Net;
using Npgsql;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>The same system with a gateway that gives up on order-service after two seconds.</summary>
public sealed class ShortUpstreamTimeoutSystem(PostgresServer postgres) : SystemUnderTest(postgres)
{
    public override TimeSpan GatewayUpstreamTimeout => TimeSpan.FromSeconds(2);
}

[CollectionDefinition(nameof(ShortUpstreamTimeoutTests))]
public sealed class ShortUpstreamTimeoutTests : ICollectionFixture<ShortUpstreamTimeoutSystem>;

/// <summary>An Idempotency-Key whose first request had an unknown outcome still buys once.</summary>
[Collection(nameof(ShortUpstreamTimeoutTests))]
public sealed class IdempotencyTests(ShortUpstreamTimeoutSystem system)
{
    [Fact]
    public async Task A_retry_after_the_gateway_timed_out_answers_the_order_placed_meanwhile_and_holds_once()
    {
        var seeded = await system.SeedEventAsync();
        using var customer = system.NewCustomer();
        var key = Guid.NewGuid().ToString();
        var body = new { ticket_id = seeded.SeatedTicketId, qty = 2 };

        await using (var connection = new NpgsqlConnection(system.OrdersDatabase))
        {
            // order-service reserves, then waits to store the order: longer than the gateway waits for it.
            await connection.OpenAsync();
            await using var storing = await connection.BeginTransactionAsync();
            await using (var block = new NpgsqlCommand("LOCK TABLE orders IN SHARE MODE", connection, storing))
            {
                await block.ExecuteNonQueryAsync();
            }

            using var timedOut = await customer.PlaceAsync(body, key);
            await Expect.ProblemAsync(timedOut, HttpStatusCode.GatewayTimeout, "gateway-timeout");
            using var whilePlacing = await customer.PlaceAsync(body, key);
            await Expect.ProblemAsync(whilePlacing, HttpStatusCode.Conflict, "order-in-progress");
            Assert.NotNull(whilePlacing.Headers.RetryAfter);
        }

        var placed = await Eventually.ReturnsAsync(() => OrdersOfAsync(customer.UserId), orders => orders.Count == 1, "the first attempt's order stored");
        using var retry = await customer.PlaceAsync(body, key);
        var answer = await Expect.StatusAsync(retry, HttpStatusCode.Created);
        using var again = await customer.PlaceAsync(body, key);

        Assert.Equal(placed.Single(), answer.GetProperty("order_id").GetGuid());
        Assert.Equal(answer.ToString(), (await Expect.StatusAsync(again, HttpStatusCode.Created)).ToString());
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Single(await OrdersOfAsync(customer.UserId));
        var ticket = await system.TicketClient.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = seeded.SeatedTicketId });
        Assert.Equal(2, ticket.Availability.Held);
        var seats = await system.VenueClient.GetSeatMapAsync(new GetSeatMapRequest { PlanId = seeded.SeatPlanId });
        Assert.Equal(2, seats.Seats.Count(s => s.Status == SeatStatus.Held));
        await Invariants.HoldAsync(system);
    }

    private async Task<List<Guid>> OrdersOfAsync(string userId)
    {
        await using var connection = new NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT order_id FROM orders WHERE user_id = @user", connection);
        command.Parameters.AddWithValue("user", userId);
        var orders = new List<Guid>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            orders.Add(reader.GetGuid(0));
        }

        return orders;
    }
}
