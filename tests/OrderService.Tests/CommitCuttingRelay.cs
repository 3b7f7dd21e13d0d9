using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;

namespace TicketSaga.OrderService.Tests;

/// <summary>
/// A TCP relay in front of PostgreSQL. Once armed with a statement, the connection that sends it next has
/// its COMMIT let through and then is cut before the server's answer comes back: the transaction is
/// committed, the client is told its connection broke. A network failure at the worst moment.
/// </summary>
public sealed class CommitCuttingRelay : IAsyncDisposable
{
    /// <summary>The statement as a Query message ends it (not "READ COMMITTED" of a BEGIN).</summary>
    private static readonly byte[] Commit = Encoding.ASCII.GetBytes("COMMIT\0");

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly int _targetPort;
    private readonly Task _accepting;
    private byte[]? _armedWith;
    private int _cut;

    public CommitCuttingRelay(int targetPort)
    {
        _targetPort = targetPort;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>Whether a COMMIT went through with its answer withheld.</summary>
    public bool Cut => Volatile.Read(ref _cut) == 1;

    /// <summary>Cuts the next connection that sends <paramref name="statement"/> once it commits.</summary>
    public void Arm(string statement) => Volatile.Write(ref _armedWith, Encoding.ASCII.GetBytes(statement));

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                _ = RelayAsync(await _listener.AcceptTcpClientAsync(_stop.Token));
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                await server.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
                using var connection = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                var answersWithheld = new StrongBox<bool>();
                await Task.WhenAny(
                    RequestsAsync(client.GetStream(), server.GetStream(), answersWithheld, connection),
                    AnswersAsync(server.GetStream(), client.GetStream(), answersWithheld, connection.Token));
            }
            catch (Exception ex) when (ex is IOException or SocketException or OperationCanceledException)
            {
                // A connection closed by either side ends its relay.
            }
        }
    }

    private async Task RequestsAsync(NetworkStream client, NetworkStream server, StrongBox<bool> answersWithheld, CancellationTokenSource connection)
    {
        var buffer = new byte[16 * 1024];
        var marked = false;
        int read;
        while ((read = await client.ReadAsync(buffer, connection.Token)) > 0)
        {
            var sent = buffer.AsSpan(0, read);
            if (!marked && Volatile.Read(ref _armedWith) is { } statement && sent.IndexOf(statement) >= 0)
            {
                marked = Interlocked.CompareExchange(ref _armedWith, null, statement) == statement;
            }

            var cutting = marked && sent.IndexOf(Commit) >= 0;
            if (cutting)
            {
                // Before the COMMIT leaves: whatever the server says from now on never reaches the client.
                Volatile.Write(ref answersWithheld.Value, true);
                Volatile.Write(ref _cut, 1);
            }

            await server.WriteAsync(buffer.AsMemory(0, read), connection.Token);
            if (cutting)
            {
                // Long enough for the server to commit; then both sides are dropped.
                await Task.Delay(TimeSpan.FromMilliseconds(500), connection.Token);
                await connection.CancelAsync();
                return;
            }
        }
    }

    private static async Task AnswersAsync(NetworkStream server, NetworkStream client, StrongBox<bool> answersWithheld, CancellationToken cancellationToken)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await server.ReadAsync(buffer, cancellationToken)) > 0 && !Volatile.Read(ref answersWithheld.Value))
        {
            await client.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        _stop.Dispose();
    }
}
