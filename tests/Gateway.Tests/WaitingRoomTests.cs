extern alias GatewayApp;

using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class WaitingRoomTests(GatewaySystem system, PostgresServer postgres)
{
    [Fact]
    public async Task When_ticket_service_does_not_answer_the_door_stays_shut_and_nothing_is_forwarded()
    {
        // A runtime of its own without ticket-service: every availability read fails, as under overload.
        await using var runtime = await EmbeddedRuntime.StartAsync(TestRuntime.Options(await postgres.CreateDatabaseAsync("gw_door_runtime")), NullLoggerFactory.Instance);
        await using var orders = await StandIn.StartAsync(runtime, AppIds.OrderService, "/orders");
        await using var gateway = await ServiceHost.StartAsync<GatewayApp::Program>(runtime, AppIds.Gateway, AppChannelProtocol.Http, new Dictionary<string, string?>
        {
            ["ConnectionStrings:gateway"] = system.GatewayDatabase,
            ["Auth:SigningKey"] = system.Auth.SigningKey,
        });
        var buyer = GatewaySystem.NewUser();

        using var answer = await PostAsync(gateway.Address, buyer, new { ticket_id = Guid.NewGuid(), qty = 1 });

        await answer.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "overloaded");
        Assert.True(answer.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After names a delay");
        Assert.Empty(orders.ReceivedFrom(buyer));
    }

    [Fact]
    public async Task Buyers_beyond_the_rate_get_places_in_arrival_order_and_are_admitted_with_their_token_in_that_order()
    {
        var (eventId, ticketId) = await SeedAsync(capacity: 100);
        await using var gateway = await StartGatewayAsync("gateway-waiting-room", eventId, admissionsPerSecond: "0.5");
        var buyers = Enumerable.Range(0, 4).Select(_ => GatewaySystem.NewUser()).ToList();
        var order = new { ticket_id = ticketId, qty = 1 };

        using (var first = await PostAsync(gateway.Address, buyers[0], order))
        {
            Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        }

        var places = new List<(int Position, string Token)>();
        foreach (var buyer in buyers.Skip(1))
        {
            using var queued = await PostAsync(gateway.Address, buyer, order);
            places.Add(await QueuedAsync(queued));
        }

        Assert.Equal(places.OrderBy(p => p.Position).ToList(), places);
        Assert.Equal(places.Count, places.Select(p => p.Position).Distinct().Count());
        Assert.Empty(buyers.Skip(1).SelectMany(system.Orders.ReceivedFrom));

        // The second buyer comes back when told to and gets in; the last one, asking at the same moment, still waits.
        var admitted = await ComeBackUntilAdmittedAsync(gateway.Address, buyers[1], order, places[0].Token);
        Assert.Equal(HttpStatusCode.Created, admitted);
        using var stillWaiting = await PostAsync(gateway.Address, buyers[3], order, places[2].Token);
        var (position, _) = await QueuedAsync(stillWaiting);
        Assert.True(position >= 1, "the last buyer is still behind");
        Assert.Single(system.Orders.ReceivedFrom(buyers[1]));
        Assert.Empty(system.Orders.ReceivedFrom(buyers[3]));
    }

    [Fact]
    public async Task A_buyer_has_one_place_however_often_they_ask()
    {
        var (eventId, ticketId) = await SeedAsync(capacity: 100);
        await using var gateway = await StartGatewayAsync("gateway-waiting-room-one-place", eventId, admissionsPerSecond: "0.01");
        var order = new { ticket_id = ticketId, qty = 1 };
        using (await PostAsync(gateway.Address, GatewaySystem.NewUser(), order))
        {
        }

        var buyer = GatewaySystem.NewUser();
        using var first = await PostAsync(gateway.Address, buyer, order);
        var place = await QueuedAsync(first);
        using var again = await PostAsync(gateway.Address, buyer, order);
        using var withToken = await PostAsync(gateway.Address, buyer, order, place.Token);
        using var behind = await PostAsync(gateway.Address, GatewaySystem.NewUser(), order);

        Assert.Equal(place, await QueuedAsync(again));
        Assert.Equal(place, await QueuedAsync(withToken));
        Assert.Equal(place.Position + 1, (await QueuedAsync(behind)).Position);
    }

    [Fact]
    public async Task A_forged_or_borrowed_queue_token_is_refused()
    {
        var (eventId, ticketId) = await SeedAsync(capacity: 100);
        await using var gateway = await StartGatewayAsync("gateway-waiting-room-tokens", eventId, admissionsPerSecond: "0.01");
        var order = new { ticket_id = ticketId, qty = 1 };
        using (await PostAsync(gateway.Address, GatewaySystem.NewUser(), order))
        {
        }

        var owner = GatewaySystem.NewUser();
        using var queued = await PostAsync(gateway.Address, owner, order);
        var (_, token) = await QueuedAsync(queued);
        var forged = token[..^2] + (token[^2] == 'A' ? "B" : "A") + token[^1];

        using var withForged = await PostAsync(gateway.Address, owner, order, forged);
        using var borrowed = await PostAsync(gateway.Address, GatewaySystem.NewUser(), order, token);
        using var madeUp = await PostAsync(gateway.Address, owner, order, "bm90LWEtdG9rZW4.AAAA");

        await withForged.AssertProblemAsync(HttpStatusCode.Forbidden, "invalid-queue-token");
        await borrowed.AssertProblemAsync(HttpStatusCode.Forbidden, "invalid-queue-token");
        await madeUp.AssertProblemAsync(HttpStatusCode.Forbidden, "invalid-queue-token");
        Assert.Empty(system.Orders.ReceivedFrom(owner));
    }

    [Fact]
    public async Task In_automatic_mode_buyers_queue_only_while_the_orders_in_flight_are_at_their_limit()
    {
        var (_, ticketId) = await SeedAsync(capacity: 100);
        await using var gateway = await system.StartGatewayAsync("gateway-waiting-room-automatic", new Dictionary<string, string?>
        {
            ["WaitingRoom:Mode"] = "Automatic",
            ["Gateway:MaxOrdersInFlight"] = "1",
        });
        var order = new { ticket_id = ticketId, qty = 1 };
        var first = GatewaySystem.NewUser();
        using var firstClient = system.Client(first, gateway.Address);
        using var held = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = JsonContent.Create(order) };
        held.Headers.Add("X-Test-Gate", "automatic-room");
        var firstAnswer = firstClient.SendAsync(held);
        await system.Orders.GateFor("automatic-room").Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var second = GatewaySystem.NewUser();
        using var queued = await PostAsync(gateway.Address, second, order);
        var (position, token) = await QueuedAsync(queued);
        Assert.Equal(1, position);

        system.Orders.GateFor("automatic-room").Opened.TrySetResult();
        using (var answer = await firstAnswer)
        {
            Assert.Equal(HttpStatusCode.Created, answer.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Created, await ComeBackUntilAdmittedAsync(gateway.Address, second, order, token));
        Assert.Single(system.Orders.ReceivedFrom(second));
    }

    [Fact]
    public async Task In_automatic_mode_a_rush_of_buyers_is_let_in_or_queued_never_turned_away()
    {
        var (_, ticketId) = await SeedAsync(capacity: 1_000);
        await using var gateway = await system.StartGatewayAsync("gateway-waiting-room-rush", new Dictionary<string, string?>
        {
            ["WaitingRoom:Mode"] = "Automatic",
            ["Gateway:MaxOrdersInFlight"] = "1",
        });
        var order = new { ticket_id = ticketId, qty = 1 };

        // Buyers arrive together while orders come and go: each is let in or given a place, none is told "overloaded".
        var answers = await Task.WhenAll(Enumerable.Range(0, 300).Select(async _ =>
        {
            using var response = await PostAsync(gateway.Address, GatewaySystem.NewUser(), order);
            var problem = response.StatusCode == HttpStatusCode.Created ? null : await response.Content.ReadAsStringAsync();
            return (response.StatusCode, Problem: problem);
        }));

        Assert.DoesNotContain(answers, answer => answer.Problem?.Contains("/overloaded", StringComparison.Ordinal) == true);
        Assert.All(answers, answer => Assert.True(
            answer.StatusCode == HttpStatusCode.Created || answer.Problem?.Contains("/waiting-room", StringComparison.Ordinal) == true,
            $"{answer.StatusCode}: {answer.Problem}"));
    }

    [Fact]
    public async Task An_event_with_its_room_off_is_not_queued()
    {
        var (eventId, ticketId) = await SeedAsync(capacity: 100);
        await using var gateway = await system.StartGatewayAsync("gateway-waiting-room-off", new Dictionary<string, string?>
        {
            ["WaitingRoom:Mode"] = "Fixed",
            ["WaitingRoom:AdmissionsPerSecond"] = "0.01",
            [$"WaitingRoom:Events:{eventId}:Mode"] = "Off",
        });

        var answers = new List<HttpStatusCode>();
        for (var i = 0; i < 3; i++)
        {
            using var response = await PostAsync(gateway.Address, GatewaySystem.NewUser(), new { ticket_id = ticketId, qty = 1 });
            answers.Add(response.StatusCode);
        }

        Assert.All(answers, status => Assert.Equal(HttpStatusCode.Created, status));
    }

    private Task<ServiceHost<GatewayApp::Program>> StartGatewayAsync(string appId, string eventId, string admissionsPerSecond) =>
        system.StartGatewayAsync(appId, new Dictionary<string, string?>
        {
            ["WaitingRoom:Mode"] = "Off",
            [$"WaitingRoom:Events:{eventId}:Mode"] = "Fixed",
            [$"WaitingRoom:Events:{eventId}:AdmissionsPerSecond"] = admissionsPerSecond,
        });

    private async Task<HttpResponseMessage> PostAsync(Uri gateway, string userId, object order, string? queueToken = null)
    {
        using var client = system.Client(userId, gateway);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = JsonContent.Create(order) };
        if (queueToken is not null)
        {
            request.Headers.Add("Queue-Token", queueToken);
        }

        return await client.SendAsync(request);
    }

    private async Task<HttpStatusCode> ComeBackUntilAdmittedAsync(Uri gateway, string userId, object order, string token)
    {
        var deadline = DateTimeOffset.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await PostAsync(gateway, userId, order, token);
            if (response.StatusCode != HttpStatusCode.ServiceUnavailable || DateTimeOffset.UtcNow > deadline)
            {
                return response.StatusCode;
            }

            var (_, sameToken) = await QueuedAsync(response);
            Assert.Equal(token, sameToken);
            await Task.Delay(TimeSpan.FromMilliseconds(200));
        }
    }

    private static async Task<(int Position, string Token)> QueuedAsync(HttpResponseMessage response)
    {
        var problem = await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "waiting-room");
        Assert.True(response.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After names a delay");
        var position = problem.GetProperty("position");
        Assert.Equal(JsonValueKind.Number, position.ValueKind);
        var token = problem.GetProperty("queue_token").GetString()!;
        Assert.Equal(token, problem.GetProperty("queueToken").GetString());
        return (position.GetInt32(), token);
    }

    private async Task<(string EventId, string TicketId)> SeedAsync(int capacity)
    {
        var eventId = Guid.NewGuid().ToString();
        var ticket = await system.Tickets.CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            EventId = eventId,
            Name = "General admission",
            Capacity = capacity,
            UnitPrice = new Money { AmountMinor = 3000, Currency = "EUR" },
            MaxPerUser = 4,
            SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
            SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(30)),
        });
        return (eventId, ticket.TicketId);
    }
}
