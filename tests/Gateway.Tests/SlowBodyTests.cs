using System.Net;
using System.Net.Sockets;
using System.Text;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class SlowBodyTests(GatewaySystem system)
{
    [Fact]
    public async Task A_webhook_body_that_stalls_holds_no_sidecar_connection_and_ends_in_408_at_kestrels_minimum_rate()
    {
        // One connection to the sidecar: a slow body streamed through it would leave nothing for anyone else.
        await using var gateway = await system.StartGatewayAsync("gateway-slow-bodies", new Dictionary<string, string?>
        {
            ["Gateway:SidecarConnections"] = "1",
        });
        var cancellation = TestContext.Current.CancellationToken;
        // The stand-in is shared with other tests, which post whole webhooks of their own.
        var marker = "evt_slow_" + Guid.NewGuid().ToString("N");
        using var slow = new TcpClient();
        await slow.ConnectAsync(gateway.Address.Host, gateway.Address.Port, cancellation);
        var stream = slow.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            "POST /payments/webhook HTTP/1.1\r\nHost: gateway\r\nStripe-Signature: " + GatewaySystem.WellFormedStripeSignature() + "\r\nContent-Type: application/json\r\n" +
            "Content-Length: 1000\r\n\r\n{\"id\":\"" + marker), cancellation);
        await Task.Delay(TimeSpan.FromMilliseconds(300), cancellation);

        var user = GatewaySystem.NewUser();
        using var client = system.Client(user, gateway.Address);
        using var meanwhile = await client.GetAsync($"/payments/{Guid.NewGuid()}", cancellation);

        Assert.Equal(HttpStatusCode.OK, meanwhile.StatusCode);
        // Answered while the stalled body still waits for its answer: streamed, it would have held the only connection until then.
        Assert.False(stream.DataAvailable);
        var answer = await ReadAnswerAsync(stream, cancellation);
        Assert.StartsWith("HTTP/1.1 408", answer, StringComparison.Ordinal);
        Assert.Contains("https://ticketsaga.dev/problems/request-timeout", answer, StringComparison.Ordinal);
        Assert.DoesNotContain(system.Payments.Received, request => request.Path == "/payments/webhook" && request.Body.Contains(marker, StringComparison.Ordinal));
    }

    private static async Task<string> ReadAnswerAsync(NetworkStream stream, CancellationToken cancellation)
    {
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellation)) > 0)
        {
            answer.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }
}
