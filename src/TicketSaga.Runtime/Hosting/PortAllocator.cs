using System.Net;
using System.Net.Sockets;

namespace TicketSaga.Runtime.Hosting;

public static class PortAllocator
{
    /// <summary>A loopback port that was free a moment ago (the OS picks it).</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
