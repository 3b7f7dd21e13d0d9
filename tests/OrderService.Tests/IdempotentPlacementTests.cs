using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TicketSaga.Ticket.V1;

namespace TicketSaga.OrderService.Tests;

/// <summary>POST /orders with an Idempotency-Key: one order per (user, key), however often and however concurrently it is sent.</summary>
public sealed class IdempotentPlacementTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task The_same_key_by_the_same_user_answers_the_first_order_and_holds_once()
    {
        var ticket = await system.GeneralAdmissionAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();

        using var first = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2 });
        using var retry = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2 });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await retry.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, retry.Headers.Location);
        Assert.Equal("true", retry.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Single(await OrdersOfAsync(user));
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 2, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task Concurrent_requests_with_one_key_place_one_order()
    {
        var (ticket, plan) = await system.SeatedAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ =>
            PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2 })));

        var orderId = Assert.Single(await OrdersOfAsync(user));
        foreach (var answer in answers)
        {
            var body = await answer.Content.ReadFromJsonAsync<JsonElement>();
            if (answer.StatusCode == HttpStatusCode.Created)
            {
                Assert.Equal(orderId, body.GetProperty("order_id").GetGuid());
            }
            else
            {
                Assert.Equal(HttpStatusCode.Conflict, answer.StatusCode);
                Assert.EndsWith("/order-in-progress", body.GetProperty("type").GetString());
                Assert.NotNull(answer.Headers.RetryAfter);
            }

            answer.Dispose();
        }

        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((6, 2, 0), (availability.Available, availability.Held, availability.Sold));
        Assert.Equal(2, (await system.SeatsAsync(plan)).Values.Count(s => s.Status == Venue.V1.SeatStatus.Held));
        using var afterwards = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2 });
        Assert.Equal(HttpStatusCode.Created, afterwards.StatusCode);
        Assert.Equal(orderId, (await afterwards.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("order_id").GetGuid());
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_422_and_changes_nothing()
    {
        var ticket = await system.GeneralAdmissionAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        using var first = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 1 });

        using var other = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 3 });

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.UnprocessableEntity, other.StatusCode);
        Assert.EndsWith("/idempotency-key-reused", (await other.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Single(await OrdersOfAsync(user));
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((9, 1, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task The_same_key_by_another_user_places_another_order()
    {
        var ticket = await system.GeneralAdmissionAsync();
        var (alice, bob) = (NewUser(), NewUser());
        using var aliceClient = system.Customer(alice);
        using var bobClient = system.Customer(bob);
        var key = Guid.NewGuid().ToString();

        using var forAlice = await PlaceAsync(aliceClient, key, new { ticket_id = ticket.TicketId, qty = 1 });
        using var forBob = await PlaceAsync(bobClient, key, new { ticket_id = ticket.TicketId, qty = 1 });

        Assert.Equal(HttpStatusCode.Created, forAlice.StatusCode);
        Assert.Equal(HttpStatusCode.Created, forBob.StatusCode);
        Assert.NotEqual(forAlice.Headers.Location, forBob.Headers.Location);
        Assert.Single(await OrdersOfAsync(alice));
        Assert.Single(await OrdersOfAsync(bob));
        Assert.Equal(2, (await system.AvailabilityAsync(ticket)).Held);
    }

    [Fact]
    public async Task A_refused_attempt_holds_nothing_and_its_key_may_be_tried_again()
    {
        var ticket = await system.GeneralAdmissionAsync(capacity: 2);
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        using var other = system.Customer(NewUser());
        var blocking = await SagaSystem.PlaceAsync(other, new { ticket_id = ticket.TicketId, qty = 2 });

        using var soldOut = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 1 });
        Assert.Equal(HttpStatusCode.Conflict, soldOut.StatusCode);
        using (var cancel = await other.DeleteAsync($"/orders/{blocking.GetProperty("order_id").GetString()}"))
        {
            Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        }

        await Testing.Eventually.HoldsAsync(async () => (await system.AvailabilityAsync(ticket)).Available == 2, "the cancelled order's stock back");
        using var retried = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 1 });

        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Single(await OrdersOfAsync(user));
        Assert.Equal(1, (await system.AvailabilityAsync(ticket)).Held);
    }

    [Fact]
    public async Task A_retry_of_an_attempt_that_died_mid_placement_places_the_order_under_the_same_hold()
    {
        var ticket = await system.GeneralAdmissionAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        // The first attempt got as far as its quota hold, then its process died (the order is not stored).
        var orderId = await PlaceThenDieAsync(customer, key, ticket, holdRanOut: false);

        using var retry = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2 });

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal(orderId, (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("order_id").GetGuid());
        Assert.Single(await OrdersOfAsync(user));
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 2, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task A_retry_of_an_attempt_that_died_after_its_hold_ran_out_gives_that_hold_back_before_holding_again()
    {
        var ticket = await system.GeneralAdmissionAsync(maxPerUser: 2);
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        // The first attempt got as far as its quota hold, then its process died; by the retry its hold has run
        // out but is not reclaimed yet, so it still counts against max_per_user.
        var orderId = await PlaceThenDieAsync(customer, key, ticket, holdRanOut: true);

        using var retry = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2 });

        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.NotEqual(orderId, (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("order_id").GetGuid());
        Assert.Single(await OrdersOfAsync(user));
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 2, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task An_invalid_key_is_400_and_reserves_nothing()
    {
        var ticket = await system.GeneralAdmissionAsync();
        var user = NewUser();
        using var customer = system.Customer(user);

        using var response = await PlaceAsync(customer, "has space", new { ticket_id = ticket.TicketId, qty = 1 });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.EndsWith("/invalid-idempotency-key", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.Empty(await OrdersOfAsync(user));
        Assert.Equal(0, (await system.AvailabilityAsync(ticket)).Held);
    }

    private static Task<HttpResponseMessage> PlaceAsync(HttpClient customer, string key, object body)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = JsonContent.Create(body) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        return customer.SendAsync(request);
    }

    /// <summary>
    /// Places two tickets under the key, then makes it look as if the attempt's process died before storing
    /// the order: the order is gone and the key's lock has passed (and, with <paramref name="holdRanOut"/>, its expires_at).
    /// </summary>
    private async Task<Guid> PlaceThenDieAsync(HttpClient customer, string key, TicketType ticket, bool holdRanOut)
    {
        using var first = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2 });
        var orderId = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("order_id").GetGuid();
        await ExecuteAsync("DELETE FROM outbox WHERE order_id = @order; DELETE FROM orders WHERE order_id = @order", orderId);
        await ExecuteAsync(
            "UPDATE order_idempotency_keys SET locked_until = now() - interval '1 second'" +
            (holdRanOut ? ", expires_at = now() - interval '1 second'" : "") + " WHERE order_id = @order", orderId);
        return orderId;
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

    private async Task ExecuteAsync(string sql, Guid orderId)
    {
        await using var connection = new NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("order", orderId);
        await command.ExecuteNonQueryAsync();
    }
}
