using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class OverloadTests(GatewaySystem system)
{
    private static readonly string[] Gates = ["overload-a", "overload-b"];

    [Fact]
    public async Task Two_hundred_concurrent_requests_share_a_few_connections_to_the_sidecar()
    {
        await using var relay = new CountingRelay();
        await using var gateway = await system.StartGatewayAsync("gateway-pooled", new Dictionary<string, string?>
        {
            ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{relay.Port}",
            ["Gateway:SidecarConnections"] = "4",
            ["RateLimiting:TokenLimit"] = "1000",
            ["RateLimiting:TokensPerPeriod"] = "1000",
        });
        relay.TargetPort = gateway.App.HttpPort;
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user, gateway.Address);

        var answers = await Task.WhenAll(Enumerable.Range(0, 200).Select(async _ =>
        {
            using var response = await client.GetAsync("/orders");
            return response.StatusCode;
        }));

        Assert.All(answers, status => Assert.Equal(HttpStatusCode.OK, status));
        Assert.Equal(200, system.Orders.ReceivedFrom(user).Count);
        Assert.InRange(relay.Opened, 1, 4);
    }

    [Fact]
    public async Task Orders_beyond_the_in_flight_limit_are_answered_503_with_retry_after_at_once_and_hold_nothing()
    {
        await using var gateway = await system.StartGatewayAsync("gateway-overloaded", new Dictionary<string, string?>
        {
            ["Gateway:MaxOrdersInFlight"] = "2",
            ["WaitingRoom:Mode"] = "Off",
        });
        var user = GatewaySystem.NewUser();
        using var client = system.Client(user, gateway.Address);
        client.Timeout = TimeSpan.FromSeconds(10);
        var order = new { ticket_id = Guid.NewGuid(), qty = 1 };
        var held = Gates.Select(async gate =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/orders") { Content = JsonContent.Create(order) };
            request.Headers.Add("X-Test-Gate", gate);
            using var response = await client.SendAsync(request);
            return response.StatusCode;
        }).ToList();
        await system.Orders.GateFor("overload-a").Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await system.Orders.GateFor("overload-b").Arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var clock = Stopwatch.StartNew();
        using var refused = await client.PostAsJsonAsync("/orders", order);
        var answeredIn = clock.Elapsed;

        await refused.AssertProblemAsync(HttpStatusCode.ServiceUnavailable, "overloaded");
        Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(1), "Retry-After names a delay");
        Assert.True(answeredIn < TimeSpan.FromSeconds(2), $"answered at once, not queued ({answeredIn})");
        Assert.Equal(2, system.Orders.ReceivedFrom(user).Count);

        system.Orders.GateFor("overload-a").Opened.TrySetResult();
        system.Orders.GateFor("overload-b").Opened.TrySetResult();
        Assert.All(await Task.WhenAll(held), status => Assert.Equal(HttpStatusCode.Created, status));
        using var afterwards = await client.PostAsJsonAsync("/orders", order);
        Assert.Equal(HttpStatusCode.Created, afterwards.StatusCode);
    }

    [Fact]
    public async Task The_gateway_asks_the_kernel_to_queue_a_rush_of_new_connections()
    {
        await using var gateway = await system.StartGatewayAsync("gateway-backlog", new Dictionary<string, string?>());

        // For a listening socket, ss reports the accept queue's size as Send-Q (Kestrel's default is 512).
        var listening = await ListeningSocketAsync(gateway.Address.Port);

        Assert.Equal("4096", listening.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
    }

    private static async Task<string> ListeningSocketAsync(int port)
    {
        using var ss = Process.Start(new ProcessStartInfo("ss", ["-ltnH", $"sport = :{port}"]) { RedirectStandardOutput = true })!;
        var output = await ss.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        await ss.WaitForExitAsync(TestContext.Current.CancellationToken);
        return Assert.Single(output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Every_buyer_of_a_rush_holding_a_connection_of_their_own_gets_an_answer()
    {
        // One past the 4,096 every other app serves: a rush's buyers each hold a browser connection.
        const int Buyers = 4_200;
        var cancellationToken = TestContext.Current.CancellationToken;
        // A gateway of its own: stopping it at the end closes the connections before the next test runs.
        await using var gateway = await system.StartGatewayAsync("gateway-rush-connections", new Dictionary<string, string?>());
        var connections = new List<TcpClient>(Buyers);
        try
        {
            for (var i = 0; i < Buyers; i++)
            {
                var connection = new TcpClient();
                connections.Add(connection);
                await connection.ConnectAsync(IPAddress.Loopback, gateway.Address.Port, cancellationToken);
            }

            var request = Encoding.ASCII.GetBytes("GET /healthz HTTP/1.1\r\nHost: gateway\r\n\r\n");
            var statusLines = await Task.WhenAll(connections.Select(async connection =>
            {
                try
                {
                    var stream = connection.GetStream();
                    await stream.WriteAsync(request, cancellationToken);
                    using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
                    return await reader.ReadLineAsync(cancellationToken) ?? "closed";
                }
                catch (IOException ex)
                {
                    return ex.Message;
                }
            }));

            Assert.Equal(Buyers, statusLines.Count(line => line == "HTTP/1.1 200 OK"));
        }
        finally
        {
            connections.ForEach(connection => connection.Dispose());
        }
    }
}
