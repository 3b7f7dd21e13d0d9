using System.Net;
using System.Net.Http.Json;
using System.Text;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class ProxyTests(GatewaySystem system)
{
    [Fact]
    public async Task A_proxied_request_reaches_the_service_with_token_identity_path_query_and_body_intact()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        const string body = """{"reason":"changed my mind","items":[1,2,3],"note":"ünïcødé"}""";

        using var response = await client.PostAsync("/payments/some/deep/path?x=1&y=two%20words&y=3", new StringContent(body, Encoding.UTF8, "application/json"));

        var answer = await response.JsonAsync();
        Assert.Equal(AppIds.PaymentService, answer.GetProperty("app_id").GetString());
        var received = Assert.Single(system.Payments.ReceivedFrom(user));
        Assert.Equal("POST", received.Method);
        Assert.Equal("/payments/some/deep/path", received.Path);
        Assert.Equal("?x=1&y=two%20words&y=3", received.Query);
        Assert.Equal(body, received.Body);
        Assert.Equal(client.DefaultRequestHeaders.Authorization!.ToString(), received.Header("Authorization"));
        Assert.Equal(user, received.Header("X-User-Id"));
    }

    [Fact]
    public async Task Payments_go_to_payment_service()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);

        using var response = await client.PostAsync("/payments/confirm", new StringContent("""{"order_id":"x","payment_method":"pm_card_visa"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(AppIds.PaymentService, (await response.JsonAsync()).GetProperty("app_id").GetString());
        Assert.Equal("/payments/confirm", Assert.Single(system.Payments.ReceivedFrom(user)).Path);
        Assert.Empty(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task A_client_can_neither_speak_for_another_user_nor_address_another_app()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders");
        request.Headers.Add("X-User-Id", "somebody-else");
        request.Headers.Add("dapr-app-id", AppIds.TicketService);

        using var response = await client.SendAsync(request);

        Assert.Equal(AppIds.OrderService, (await response.JsonAsync()).GetProperty("app_id").GetString());
        var received = Assert.Single(system.Orders.ReceivedFrom(user));
        Assert.Equal(user, received.Header("X-User-Id"));
        Assert.DoesNotContain(system.Orders.Received, r => r.Header("X-User-Id") == "somebody-else");
    }

    [Fact]
    public async Task Status_and_problem_details_of_the_service_pass_through()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders/0193a0c0-0000-7000-8000-00000000abcd");
        request.Headers.Add("X-Test-Status", "404");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("/orders/0193a0c0-0000-7000-8000-00000000abcd", (await response.Content.ReadFromJsonAsync<Dictionary<string, object>>())!["path"].ToString());
    }

    [Fact]
    public async Task A_service_that_drops_the_connection_is_503_problem_details()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders");
        request.Headers.Add("X-Test-Abort", "yes");

        using var response = await client.SendAsync(request);

        var problem = await response.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "service-unavailable");
        Assert.Contains(AppIds.OrderService, problem.GetProperty("title").GetString());
        Assert.DoesNotContain("127.0.0.1", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_gateway_whose_sidecar_does_not_answer_gives_502_problem_details()
    {
        var closed = PortAllocator.FreePort();
        await using var gateway = await system.StartGatewayAsync("gateway-without-sidecar", new Dictionary<string, string?>
        {
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{closed}",
        });
        using var client = system.Client(GatewaySystem.NewUser(), gateway.Address);

        using var response = await client.GetAsync("/orders");

        var problem = await response.AssertProblemAsync(HttpStatusCode.BadGateway, "bad-gateway");
        Assert.Contains(AppIds.OrderService, problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task A_method_outside_the_public_api_is_404_problem_details_and_not_forwarded()
    {
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user);

        using var put = await client.PutAsync($"/orders/{Guid.NewGuid()}", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        using var delete = await client.DeleteAsync("/payments/webhook");

        Assert.All([put, delete], response =>
        {
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        });
        Assert.Empty(system.Orders.ReceivedFrom(user));
    }

    [Fact]
    public async Task Unknown_paths_are_404_problem_details()
    {
        using var client = system.Client(GatewaySystem.NewUser());

        using var response = await client.GetAsync("/no-such-thing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
