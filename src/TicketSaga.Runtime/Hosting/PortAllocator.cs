using TicketSaga.Runtime.Runner;

namespace TicketSaga.Runtime.Hosting;

public static class PortAllocator
{
    // Below the ephemeral ranges (Linux 32768–60999, Windows and macOS 49152–65535): the OS never gives
    // a port from here to an outgoing connection, which could otherwise take it before the app binds it.
    private const int First = 20_000;
    private const int Last = 32_000;

    private static readonly HashSet<int> Given = [];

    /// <summary>A loopback port that was free a moment ago and that this process has not handed out before.</summary>
    public static int FreePort()
    {
        lock (Given)
        {
            for (var attempt = 0; attempt < 1_000; attempt++)
            {
                var port = Random.Shared.Next(First, Last);
                if (!Given.Contains(port) && PortCheck.IsFree(port))
                {
                    Given.Add(port);
                    return port;
                }
            }
        }

        throw new InvalidOperationException($"No free loopback port between {First} and {Last}.");
    }
}
