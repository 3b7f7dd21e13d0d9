using System.Net;
using System.Text;
using Npgsql;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class IdempotencyTests(GatewaySystem system)
{
    private const string OrderBody = """{"ticket_id":"0193a0c0-0000-7000-8000-000000000011","qty":2}""";

    [Fact]
    public async Task The_same_key_and_body_get_the_first_answer_and_create_nothing_new()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();

        using var first = await CreateOrderAsync(client, key);
        using var second = await CreateOrderAsync(client, key);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.Equal("application/json", second.Content.Headers.ContentType?.MediaType);
        Assert.False(first.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal("true", second.Headers.GetValues("Idempotent-Replayed").Single());
        var received = Assert.Single(system.Orders.ReceivedFrom(user));
        Assert.Equal(OrderBody, received.Body);
    }

    [Fact]
    public async Task The_same_key_with_another_body_is_422_and_not_forwarded()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();
        using var first = await CreateOrderAsync(client, key);

        using var other = await CreateOrderAsync(client, key, """{"ticket_id":"0193a0c0-0000-7000-8000-000000000011","qty":3}""");

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        await other.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Single(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task The_same_request_serialized_anew_is_a_retry_and_gets_the_first_answer()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();
        using var first = await CreateOrderAsync(client, key);

        using var again = await CreateOrderAsync(client, key, """
            { "qty": 2,
              "ticket_id": "0193a0c0-0000-7000-8000-00000000001\u0031" }
            """);

        Assert.Equal(HttpStatusCode.Created, again.StatusCode);
        Assert.Equal("true", again.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(await first.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Single(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task Keys_of_different_users_are_independent()
    {
        var (alice, bob) = (GatewaySystem.NewUser(), GatewaySystem.NewUser());
        using var aliceClient = system.Client(alice);
        using var bobClient = system.Client(bob);
        var key = Guid.NewGuid().ToString();

        using var forAlice = await CreateOrderAsync(aliceClient, key);
        using var forBob = await CreateOrderAsync(bobClient, key);

        Assert.Equal(HttpStatusCode.Created, forAlice.StatusCode);
        Assert.Equal(HttpStatusCode.Created, forBob.StatusCode);
        Assert.NotEqual(forAlice.Headers.Location, forBob.Headers.Location);
        Assert.Single(system.Orders.ReceivedFrom(alice));
        Assert.Single(system.Orders.ReceivedFrom(bob));
    }

    [Fact]
    public async Task A_duplicate_while_the_first_is_in_flight_gets_409_then_the_first_answer()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();
        var gate = system.Orders.GateFor(key);

        var first = CreateOrderAsync(client, key, gate: key);
        await gate.Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var duplicates = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => CreateOrderAsync(client, key, gate: key)));
        gate.Opened.SetResult();
        using var firstAnswer = await first;
        using var afterwards = await CreateOrderAsync(client, key);

        foreach (var duplicate in duplicates)
        {
            await duplicate.AssertProblemAsync(HttpStatusCode.Conflict, "idempotency-key-in-progress");
            Assert.NotNull(duplicate.Headers.RetryAfter);
            duplicate.Dispose();
        }

        Assert.Equal(HttpStatusCode.Created, firstAnswer.StatusCode);
        Assert.Equal(HttpStatusCode.Created, afterwards.StatusCode);
        Assert.Equal(await firstAnswer.Content.ReadAsStringAsync(), await afterwards.Content.ReadAsStringAsync());
        Assert.Single(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task Concurrent_duplicates_reach_order_service_once()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();

        var answers = await Task.WhenAll(Enumerable.Range(0, 12).Select(_ => CreateOrderAsync(client, key)));

        Assert.Single(system.Orders.ReceivedFrom(user));
        var created = answers.Where(a => a.StatusCode == HttpStatusCode.Created).ToList();
        Assert.NotEmpty(created);
        var bodies = await Task.WhenAll(created.Select(a => a.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        Assert.All(answers.Except(created), a => Assert.Equal(HttpStatusCode.Conflict, a.StatusCode));
    }

    [Fact]
    public async Task A_server_error_is_not_kept_so_a_retry_is_forwarded_again()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();

        using var failed = await CreateOrderAsync(client, key, status: 500);
        using var retried = await CreateOrderAsync(client, key);

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(2, system.Orders.ReceivedFrom(user).Count);
    }

    [Fact]
    public async Task After_an_unknown_outcome_the_key_still_refuses_another_body()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();

        using var failed = await CreateOrderAsync(client, key, status: 502);
        using var other = await CreateOrderAsync(client, key, """{"ticket_id":"0193a0c0-0000-7000-8000-000000000011","qty":3}""");

        Assert.Equal(HttpStatusCode.BadGateway, failed.StatusCode);
        await other.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Single(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task A_timed_out_request_keeps_its_key_and_its_retry_is_forwarded_again()
    {
        await using var gateway = await system.StartGatewayAsync("gateway-short-timeout", new Dictionary<string, string?> { ["Gateway:UpstreamTimeout"] = "00:00:01" });
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user, gateway.Address);
        var key = Guid.NewGuid().ToString();
        var gate = system.Orders.GateFor(key);

        using var timedOut = await CreateOrderAsync(client, key, gate: key);
        gate.Opened.SetResult();
        using var other = await CreateOrderAsync(client, key, """{"ticket_id":"0193a0c0-0000-7000-8000-000000000011","qty":3}""");
        using var retried = await CreateOrderAsync(client, key);
        using var replayed = await CreateOrderAsync(client, key);

        await timedOut.AssertProblemAsync(HttpStatusCode.GatewayTimeout, "gateway-timeout");
        await other.AssertProblemAsync(HttpStatusCode.UnprocessableEntity, "idempotency-key-reused");
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(await retried.Content.ReadAsStringAsync(), await replayed.Content.ReadAsStringAsync());
        Assert.Equal("true", replayed.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Equal(2, system.Orders.ReceivedFrom(user).Count);
    }

    [Fact]
    public async Task An_answer_asking_to_be_retried_is_passed_on_but_not_kept()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();

        using var inProgress = await CreateOrderAsync(client, key, status: 409, retryAfter: 1);
        using var retried = await CreateOrderAsync(client, key);

        Assert.Equal(HttpStatusCode.Conflict, inProgress.StatusCode);
        Assert.NotNull(inProgress.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        Assert.Equal(2, system.Orders.ReceivedFrom(user).Count);
    }

    [Fact]
    public async Task A_client_error_is_kept_like_a_success()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();

        using var soldOut = await CreateOrderAsync(client, key, status: 409);
        using var again = await CreateOrderAsync(client, key);

        Assert.Equal(HttpStatusCode.Conflict, soldOut.StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        Assert.Equal(await soldOut.Content.ReadAsStringAsync(), await again.Content.ReadAsStringAsync());
        Assert.Single(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task A_key_is_kept_for_24_hours_and_an_expired_key_is_a_new_request()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        var key = Guid.NewGuid().ToString();
        using var first = await CreateOrderAsync(client, key);

        var lifetime = await ScalarAsync<TimeSpan>("SELECT expires_at - created_at FROM idempotency_keys WHERE user_id = @user AND idempotency_key = @key", user, key);
        await ScalarAsync<int>("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE user_id = @user AND idempotency_key = @key RETURNING 1", user, key);
        using var afterExpiry = await CreateOrderAsync(client, key);

        Assert.Equal(TimeSpan.FromHours(24), lifetime);
        Assert.Equal(HttpStatusCode.Created, afterExpiry.StatusCode);
        Assert.NotEqual(first.Headers.Location, afterExpiry.Headers.Location);
        Assert.Equal(2, system.Orders.ReceivedFrom(user).Count);
    }

    [Fact]
    public async Task Without_a_key_every_post_is_forwarded()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);

        using var first = await CreateOrderAsync(client, key: null);
        using var second = await CreateOrderAsync(client, key: null);

        Assert.Equal(2, system.Orders.ReceivedFrom(user).Count);
        Assert.NotEqual(first.Headers.Location, second.Headers.Location);
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("tab\tinside")]
    public async Task An_invalid_key_is_400_and_not_forwarded(string key)
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);

        using var response = await CreateOrderAsync(client, key);

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-idempotency-key");
        Assert.Empty(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task A_key_longer_than_255_characters_is_400()
    {
        using var client = system.Client(GatewaySystem.NewUser());

        using var response = await CreateOrderAsync(client, new string('k', 256));

        await response.AssertProblemAsync(HttpStatusCode.BadRequest, "invalid-idempotency-key");
    }

    internal static Task<HttpResponseMessage> CreateOrderAsync(HttpClient client, string? key, string body = OrderBody, int? status = null, string? gate = null, int? retryAfter = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        }

        if (status is not null)
        {
            request.Headers.Add("X-Test-Status", status.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (gate is not null)
        {
            request.Headers.Add("X-Test-Gate", gate);
        }

        if (retryAfter is not null)
        {
            request.Headers.Add("X-Test-Retry-After", retryAfter.Value.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return client.SendAsync(request);
    }

    private async Task<T> ScalarAsync<T>(string sql, string user, string key)
    {
        await using var connection = new NpgsqlConnection(system.GatewayDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("user", user);
        command.Parameters.AddWithValue("key", key);
        return (T)(await command.ExecuteScalarAsync())!;
    }
}
