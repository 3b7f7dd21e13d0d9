using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TicketSaga.Contracts;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Tests;

/// <summary>Phase 1 (reserve) and phase 2 (orders.order.created through the outbox).</summary>
public sealed class PlaceOrderTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task A_general_admission_order_holds_the_quota_at_the_locked_price_and_announces_itself()
    {
        var ticket = await system.GeneralAdmissionAsync(priceMinor: 4_500);
        using var customer = system.Customer(NewUser());

        using var response = await customer.PostAsJsonAsync("/orders", new { ticket_id = ticket.TicketId, qty = 3 });
        var order = await response.Content.ReadFromJsonAsync<JsonElement>();

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var orderId = order.GetProperty("order_id").GetString()!;
        Assert.Equal($"/orders/{orderId}", response.Headers.Location!.OriginalString);
        Assert.Equal(OrderStatuses.Pending, order.GetProperty("status").GetString());
        Assert.Equal(13_500, order.GetProperty("amount").GetInt64());
        Assert.Equal("EUR", order.GetProperty("currency").GetString());
        Assert.Empty(order.GetProperty("seats").EnumerateArray());
        Assert.InRange(order.GetProperty("expires_at").GetDateTimeOffset(), DateTimeOffset.UtcNow, DateTimeOffset.UtcNow + SagaSystem.HoldDuration);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((7, 3, 0), (availability.Available, availability.Held, availability.Sold));

        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Count == 1, "orders.order.created");
        var created = Assert.Single(await system.PublishedAsync(orderId));
        var outbox = Assert.Single(await system.OutboxAsync(orderId));
        Assert.Equal(Topics.OrderCreated, created.Topic);
        Assert.Equal(outbox.Id.ToString(), created.MessageId);
        Assert.Equal(orderId, created.PartitionKey);
        Assert.Equal(3, created.Data.GetProperty("qty").GetInt32());
        Assert.Equal(13_500, created.Data.GetProperty("amountMinor").GetInt64());
        await Eventually.HoldsAsync(async () => (await system.OutboxAsync(orderId)).Single().Published, "the outbox row marked published");
    }

    [Fact]
    public async Task A_seated_order_holds_exactly_the_seats_it_names()
    {
        var (ticket, plan) = await system.SeatedAsync(priceMinor: 7_000);
        var seats = await system.SeatsAsync(plan);
        var wanted = seats.Values.Where(s => s.Row == "B" && s.Number is 2 or 3).ToList();
        using var customer = system.Customer(NewUser());

        var order = await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2, seat_ids = wanted.Select(s => s.SeatId) });

        Assert.Equal(14_000, order.GetProperty("amount").GetInt64());
        Assert.Equal(
            wanted.Select(s => (s.SeatId, s.Label)).Order(),
            order.GetProperty("seats").EnumerateArray().Select(s => (s.GetProperty("seat_id").GetString()!, s.GetProperty("label").GetString()!)).Order());
        var after = await system.SeatsAsync(plan);
        Assert.All(wanted, s => Assert.Equal(Venue.V1.SeatStatus.Held, after[s.SeatId].Status));
        Assert.Equal(2, after.Values.Count(s => s.Status == Venue.V1.SeatStatus.Held));
    }

    [Fact]
    public async Task A_seated_order_without_named_seats_gets_seats_assigned_in_its_section()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());

        var order = await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 3 });

        var assigned = order.GetProperty("seats").EnumerateArray().Select(s => s.GetProperty("seat_id").GetString()!).ToList();
        Assert.Equal(3, assigned.Count);
        var seats = await system.SeatsAsync(plan);
        Assert.All(assigned, id => Assert.Equal(Venue.V1.SeatStatus.Held, seats[id].Status));
        Assert.Single(assigned.Select(id => seats[id].Row).Distinct());
    }

    [Fact]
    public async Task Seats_taken_after_the_quota_was_reserved_give_the_quota_back_and_answer_409()
    {
        var (ticket, plan) = await system.SeatedAsync();
        var seat = (await system.SeatsAsync(plan)).Values.First(s => s.Label.EndsWith("A-1", StringComparison.Ordinal));
        using var first = system.Customer(NewUser());
        using var second = system.Customer(NewUser());
        await SagaSystem.PlaceAsync(first, new { ticket_id = ticket.TicketId, qty = 1, seat_ids = new[] { seat.SeatId } });

        var problem = await SagaSystem.PlaceAsync(second, new { ticket_id = ticket.TicketId, qty = 1, seat_ids = new[] { seat.SeatId } }, HttpStatusCode.Conflict);

        Assert.Equal("https://ticketsaga.dev/problems/seats-taken", problem.GetProperty("type").GetString());
        Assert.Contains("A-1", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((7, 1), (availability.Available, availability.Held));
    }

    [Fact]
    public async Task Seats_named_from_another_section_are_refused_and_the_quota_given_back()
    {
        var (floor, plan) = await system.SeatedAsync();
        var balcony = await system.VenueClient.CreateSeatPlanAsync(new CreateSeatPlanRequest
        {
            EventId = plan.EventId,
            Name = "Hall with a balcony",
            Sections =
            {
                new SectionLayout { Name = "Floor", Rows = { new RowLayout { Label = "A", Seats = 2 } } },
                new SectionLayout { Name = "Balcony", Rows = { new RowLayout { Label = "A", Seats = 2 } } },
            },
        });
        var floorOfTwo = await system.TicketClient.CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            EventId = plan.EventId,
            Name = "Floor",
            Capacity = 2,
            UnitPrice = floor.UnitPrice,
            MaxPerUser = 2,
            SaleStartsAt = floor.SaleStartsAt,
            SaleEndsAt = floor.SaleEndsAt,
            SeatPlanId = balcony.PlanId,
            Section = "Floor",
        });
        var balconySeat = (await system.SeatsAsync(balcony)).Values.First(s => s.Section == "Balcony");
        using var customer = system.Customer(NewUser());

        var problem = await SagaSystem.PlaceAsync(customer,
            new { ticket_id = floorOfTwo.TicketId, qty = 1, seat_ids = new[] { balconySeat.SeatId } }, HttpStatusCode.UnprocessableEntity);

        Assert.Contains("Balcony A-1", problem.GetProperty("detail").GetString());
        var availability = await system.AvailabilityAsync(floorOfTwo);
        Assert.Equal((2, 0), (availability.Available, availability.Held));
        Assert.Equal(SeatStatus.Available, (await system.SeatsAsync(balcony))[balconySeat.SeatId].Status);
    }

    [Fact]
    public async Task Seats_named_for_a_general_admission_type_are_refused_and_the_quota_given_back()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());

        var problem = await SagaSystem.PlaceAsync(customer,
            new { ticket_id = ticket.TicketId, qty = 1, seat_ids = new[] { Guid.NewGuid() } }, HttpStatusCode.UnprocessableEntity);

        Assert.Equal("https://ticketsaga.dev/problems/invalid-order", problem.GetProperty("type").GetString());
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((10, 0), (availability.Available, availability.Held));
    }

    [Fact]
    public async Task Sold_out_over_the_limit_unknown_and_invalid_orders_get_their_problem_and_change_nothing()
    {
        var ticket = await system.GeneralAdmissionAsync(capacity: 3, maxPerUser: 2);
        using var greedy = system.Customer(NewUser());
        await SagaSystem.PlaceAsync(greedy, new { ticket_id = ticket.TicketId, qty = 2 });

        var overLimit = await SagaSystem.PlaceAsync(greedy, new { ticket_id = ticket.TicketId, qty = 1 }, HttpStatusCode.UnprocessableEntity);
        using var late = system.Customer(NewUser());
        var soldOut = await SagaSystem.PlaceAsync(late, new { ticket_id = ticket.TicketId, qty = 2 }, HttpStatusCode.Conflict);
        var unknown = await SagaSystem.PlaceAsync(late, new { ticket_id = Guid.NewGuid(), qty = 1 }, HttpStatusCode.NotFound);
        var badQty = await SagaSystem.PlaceAsync(late, new { ticket_id = ticket.TicketId, qty = 0 }, HttpStatusCode.UnprocessableEntity);
        var badId = await SagaSystem.PlaceAsync(late, new { ticket_id = "not-a-uuid", qty = 1 }, HttpStatusCode.UnprocessableEntity);

        Assert.Equal("https://ticketsaga.dev/problems/max-per-user", overLimit.GetProperty("type").GetString());
        Assert.Equal("https://ticketsaga.dev/problems/sold-out", soldOut.GetProperty("type").GetString());
        Assert.Equal("https://ticketsaga.dev/problems/ticket-not-found", unknown.GetProperty("type").GetString());
        Assert.All([badQty, badId], p => Assert.Equal("https://ticketsaga.dev/problems/invalid-order", p.GetProperty("type").GetString()));
        Assert.All([overLimit, soldOut, unknown, badQty, badId], p => Assert.False(string.IsNullOrWhiteSpace(p.GetProperty("detail").GetString())));
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((1, 2), (availability.Available, availability.Held));
        var list = await late.GetFromJsonAsync<JsonElement>("/orders");
        Assert.Empty(list.GetProperty("orders").EnumerateArray());
    }

    [Fact]
    public async Task Orders_need_a_token_and_only_their_owner_sees_them()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var owner = system.Customer(NewUser());
        using var stranger = system.Customer(NewUser());
        using var anonymous = new HttpClient { BaseAddress = system.Orders.Address };
        var older = (await SagaSystem.PlaceAsync(owner, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var newer = (await SagaSystem.PlaceAsync(owner, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;

        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/orders", new { ticket_id = ticket.TicketId, qty = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.GetAsync($"/orders/{older}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await stranger.DeleteAsync($"/orders/{older}")).StatusCode);
        Assert.Empty((await stranger.GetFromJsonAsync<JsonElement>("/orders")).GetProperty("orders").EnumerateArray());
        Assert.Equal(older, (await SagaSystem.GetOrderAsync(owner, older)).GetProperty("order_id").GetString());
        var page = await owner.GetFromJsonAsync<JsonElement>("/orders?limit=1");
        Assert.Equal(newer, page.GetProperty("orders")[0].GetProperty("order_id").GetString());
        var next = await owner.GetFromJsonAsync<JsonElement>($"/orders?limit=1&before={page.GetProperty("next_before").GetString()}");
        Assert.Equal(older, next.GetProperty("orders")[0].GetProperty("order_id").GetString());
        Assert.Equal(JsonValueKind.Null, next.GetProperty("next_before").ValueKind);
        Assert.Equal(OrderStatuses.Pending, (await SagaSystem.GetOrderAsync(owner, older)).GetProperty("status").GetString());
    }
}
