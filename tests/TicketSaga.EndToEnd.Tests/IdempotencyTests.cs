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
        // The scenario needs order-service to reach the order's commit before the gateway gives up; on a
        // loaded machine the reserve before it can take longer, and that attempt is (rightly) abandoned.
        for (var attempt = 1; ; attempt++)
        {
            if (await TimeOutWhileStoringAsync() is { } scenario)
            {
                await AssertTheRetryAnswersTheFirstOrderAsync(scenario);
                return;
            }

            Assert.True(attempt < 3, "order-service never reached the order's commit before the gateway's timeout");
        }
    }

    /// <summary>Places an order whose commit waits on a table lock until the gateway has answered 504; null when the gateway gave up before the commit.</summary>
    private async Task<Scenario?> TimeOutWhileStoringAsync()
    {
        var seeded = await system.SeedEventAsync();
        var customer = system.NewCustomer();
        var key = Guid.NewGuid().ToString();
        var body = new { ticket_id = seeded.SeatedTicketId, qty = 2 };
        await using var connection = new NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var storing = await connection.BeginTransactionAsync();
        await using (var block = new NpgsqlCommand("LOCK TABLE orders IN SHARE MODE", connection, storing))
        {
            await block.ExecuteNonQueryAsync();
        }

        var placing = customer.PlaceAsync(body, key);
        while (!placing.IsCompleted && !await StoringWaitsAsync())
        {
            await Task.Delay(50);
        }

        var reachedCommit = await StoringWaitsAsync();
        using var timedOut = await placing;
        if (!reachedCommit)
        {
            customer.Dispose();
            return null;
        }

        await Expect.ProblemAsync(timedOut, HttpStatusCode.GatewayTimeout, "gateway-timeout");
        using var whilePlacing = await customer.PlaceAsync(body, key);
        await Expect.ProblemAsync(whilePlacing, HttpStatusCode.Conflict, "order-in-progress");
        Assert.NotNull(whilePlacing.Headers.RetryAfter);
        return new Scenario(seeded, customer, key, body);
    }

    private async Task AssertTheRetryAnswersTheFirstOrderAsync(Scenario scenario)
    {
        var (seeded, customer, key, body) = scenario;
        using var _ = customer;
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

    /// <summary>Whether a session of order-service waits on the test's lock, i.e. is storing an order.</summary>
    private async Task<bool> StoringWaitsAsync()
    {
        await using var connection = new NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query ILIKE '%orders%')", connection);
        return (bool)(await command.ExecuteScalarAsync())!;
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

    private sealed record Scenario(SeededEvent Seeded, Customer Customer, string Key, object Body);
}
