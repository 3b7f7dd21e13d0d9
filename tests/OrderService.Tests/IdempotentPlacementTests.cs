using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TicketSaga.Testing;
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

        await Eventually.HoldsAsync(async () => (await system.AvailabilityAsync(ticket)).Available == 2, "the cancelled order's stock back");
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
    public async Task A_refused_attempt_gives_its_key_back_once_its_holds_are_released()
    {
        var (ticket, plan) = await system.SeatedAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        var (seatIds, _) = await TakeSeatsAsync(ticket.TicketId, plan);

        using var refused = await PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2, seat_ids = seatIds });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Null(await KeyAsync(user, key));
        Assert.Equal(["RELEASED"], (await HoldsOfAsync(user)).Select(h => h.Status));
        Assert.Equal(2, (await system.AvailabilityAsync(ticket)).Held);
    }

    [Fact]
    public async Task A_retry_after_a_refused_attempt_could_not_release_its_hold_releases_it_before_holding_again()
    {
        var (ticket, plan) = await system.SeatedAsync(maxPerUser: 2);
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        var (seatIds, blocking) = await TakeSeatsAsync(ticket.TicketId, plan);
        var order = new { ticket_id = ticket.TicketId, qty = 2, seat_ids = seatIds };
        await using (await RefuseReleasesAsync(user))
        {
            using var refused = await PlaceAsync(customer, key, order);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            // A retry while that hold still cannot be released holds nothing beside it.
            using var early = await PlaceAsync(customer, key, order);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, early.StatusCode);
        }

        // Left held (it counts against max_per_user) and kept by the key, unlocked, for the retry to release.
        var firstHold = Assert.Single(await HoldsOfAsync(user));
        Assert.Equal("HELD", firstHold.Status);
        var kept = await KeyAsync(user, key);
        Assert.Equal(firstHold.ReservationId, kept?.ReservationId);
        Assert.True(kept?.Unlocked, "the key is left unlocked for the retry");
        await CancelAsync(blocking);
        await Eventually.HoldsAsync(async () => (await system.SeatsAsync(plan)).Values.All(s => s.Status == Venue.V1.SeatStatus.Available),
            "the taken seats back");

        using var retry = await PlaceAsync(customer, key, order);

        var placed = await retry.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(retry.StatusCode == HttpStatusCode.Created, $"Expected Created, got {(int)retry.StatusCode}: {placed}");
        var orderId = placed.GetProperty("order_id").GetGuid();
        Assert.Equal([orderId], await OrdersOfAsync(user));
        var holds = await HoldsOfAsync(user);
        Assert.Equal([(firstHold.ReservationId, "RELEASED"), ((await system.OrderStore.GetAsync(orderId, default))!.ReservationId, "HELD")], holds);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((6, 2, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task A_retry_of_a_refused_attempt_whose_hold_was_not_released_is_refused_again_and_holds_nothing()
    {
        var ticket = await system.GeneralAdmissionAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        // General admission has no sections: refused after its quota is held.
        var order = new { ticket_id = ticket.TicketId, qty = 2, section = "Balcony" };
        await using (await RefuseReleasesAsync(user))
        {
            using var refused = await PlaceAsync(customer, key, order);
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        }

        Assert.Equal(2, (await system.AvailabilityAsync(ticket)).Held);

        using var retry = await PlaceAsync(customer, key, order);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, retry.StatusCode);
        Assert.EndsWith("/invalid-order", (await retry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.All(await HoldsOfAsync(user), h => Assert.Equal("RELEASED", h.Status));
        Assert.Equal(0, (await system.AvailabilityAsync(ticket)).Held);
        Assert.Null(await KeyAsync(user, key));
    }

    [Fact]
    public async Task A_refused_attempt_that_lost_its_key_while_releasing_leaves_the_key_to_the_attempt_that_took_it_over()
    {
        var ticket = await system.GeneralAdmissionAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var key = Guid.NewGuid().ToString();
        var gateId = Random.Shared.NextInt64();
        HttpResponseMessage refused;
        await using (await RefuseReleasesAsync(user, gateId))
        await using (var gate = await HoldAdvisoryLockAsync(gateId))
        {
            var placing = PlaceAsync(customer, key, new { ticket_id = ticket.TicketId, qty = 2, section = "Balcony" });
            await Eventually.HoldsAsync(async () => await KeyAsync(user, key) is { GivenUp: true }, "the refused attempt releasing its hold");
            // Its release outlasts the key's lock: a retry takes the key over meanwhile.
            await ExecuteAsync(system.OrdersDatabase,
                "UPDATE order_idempotency_keys SET attempt = gen_random_uuid(), locked_until = now() + interval '1 minute' WHERE user_id = @user",
                ("user", user));
            await using (var open = new NpgsqlCommand($"SELECT pg_advisory_unlock({gateId})", gate))
            {
                await open.ExecuteNonQueryAsync();
            }

            refused = await placing;
        }

        using (refused)
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        }

        Assert.False((await KeyAsync(user, key))?.Unlocked, "the key stays locked by the attempt that took it over");
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

    /// <summary>Two seats held by another customer's order (the id returned, to cancel it).</summary>
    private async Task<(List<string> SeatIds, (string Holder, string OrderId) Blocking)> TakeSeatsAsync(string ticketId, Venue.V1.SeatPlan plan)
    {
        var seatIds = (await system.SeatsAsync(plan)).Values.Where(s => s.Row == "A" && s.Number is 1 or 2).Select(s => s.SeatId).ToList();
        var holder = NewUser();
        using var other = system.Customer(holder);
        var blocking = await SagaSystem.PlaceAsync(other, new { ticket_id = ticketId, qty = 2, seat_ids = seatIds });
        return (seatIds, (holder, blocking.GetProperty("order_id").GetString()!));
    }

    private async Task CancelAsync((string Holder, string OrderId) order)
    {
        using var holder = system.Customer(order.Holder);
        using var cancel = await holder.DeleteAsync($"/orders/{order.OrderId}");
        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
    }

    /// <summary>
    /// Until disposed, ticket-service's database refuses to release <paramref name="user"/>'s holds, so its
    /// ReleaseReservation fails; with <paramref name="gate"/>, only once that advisory lock is free.
    /// </summary>
    private async Task<IAsyncDisposable> RefuseReleasesAsync(string user, long? gate = null)
    {
        var name = "refuse_release_" + user.Replace('-', '_');
        var wait = gate is { } id ? $"PERFORM pg_advisory_xact_lock_shared({id});" : "";
        await ExecuteAsync(system.TicketsDatabase, $"""
            CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $body$
            BEGIN
                {wait}
                RAISE EXCEPTION 'ticket-service database refuses the release';
            END $body$;
            CREATE TRIGGER {name} BEFORE UPDATE ON reservations FOR EACH ROW
                WHEN (NEW.status = 'RELEASED' AND NEW.user_id = '{user}') EXECUTE FUNCTION {name}();
            """);
        return new Undo(() => ExecuteAsync(system.TicketsDatabase, $"DROP TRIGGER {name} ON reservations; DROP FUNCTION {name}()"));
    }

    private async Task<NpgsqlConnection> HoldAdvisoryLockAsync(long id)
    {
        var connection = new NpgsqlConnection(system.TicketsDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"SELECT pg_advisory_lock({id})", connection);
        await command.ExecuteNonQueryAsync();
        return connection;
    }

    /// <summary>The user's quota holds in ticket-service, oldest first.</summary>
    private async Task<List<(Guid ReservationId, string Status)>> HoldsOfAsync(string userId)
    {
        await using var connection = new NpgsqlConnection(system.TicketsDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT reservation_id, status FROM reservations WHERE user_id = @user ORDER BY created_at", connection);
        command.Parameters.AddWithValue("user", userId);
        var holds = new List<(Guid, string)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            holds.Add((reader.GetGuid(0), reader.GetString(1)));
        }

        return holds;
    }

    /// <summary>The key's row: the reservation it keeps, whether a retry may take it over now, whether its holds were given up.</summary>
    private async Task<KeyRow?> KeyAsync(string userId, string key)
    {
        await using var connection = new NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT reservation_id, locked_until <= now(), expires_at <= now() FROM order_idempotency_keys WHERE user_id = @user AND idempotency_key = @key",
            connection);
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.AddWithValue("key", key);
        await using var reader = await command.ExecuteReaderAsync();
        return await reader.ReadAsync() ? new KeyRow(reader.GetGuid(0), reader.GetBoolean(1), reader.GetBoolean(2)) : null;
    }

    private Task ExecuteAsync(string sql, Guid orderId) => ExecuteAsync(system.OrdersDatabase, sql, ("order", orderId));

    private static async Task ExecuteAsync(string database, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    private sealed record KeyRow(Guid ReservationId, bool Unlocked, bool GivenUp);

    private sealed class Undo(Func<Task> undo) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync() => await undo();
    }
}
