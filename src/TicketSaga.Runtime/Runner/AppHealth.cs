using System.Net.Sockets;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Runner;

/// <summary>
/// When an app counts as up: an app without a port as soon as it runs; otherwise its port accepts
/// connections and, for a gRPC app, the standard gRPC health service answers SERVING (an app without
/// it counts as up once the port answers); for an HTTP app with appHealthCheckPath, that path answers 2xx.
/// </summary>
internal static class AppHealth
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>Waits until the app is healthy; false when it exited first.</summary>
    public static async Task<bool> WaitAsync(RunFileApp app, AppDescriptor descriptor, AppProcess? process, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        while (true)
        {
            if (process is { HasExited: true })
            {
                return false;
            }

            if (app.AppPort is null || await ProbeAsync(app, descriptor, http, cancellationToken))
            {
                return true;
            }

            await Task.Delay(PollInterval, cancellationToken);
        }
    }

    private static async Task<bool> ProbeAsync(RunFileApp app, AppDescriptor descriptor, HttpClient http, CancellationToken cancellationToken)
    {
        if (!await AcceptsConnectionsAsync(descriptor.AppPort, cancellationToken))
        {
            return false;
        }

        if (app.Protocol == AppChannelProtocol.Grpc)
        {
            return await GrpcServingAsync(descriptor.AppAddress, cancellationToken);
        }

        if (app.AppHealthCheckPath is null)
        {
            return true;
        }

        try
        {
            using var response = await http.GetAsync(new Uri(descriptor.AppAddress, app.AppHealthCheckPath), cancellationToken);
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    private static async Task<bool> AcceptsConnectionsAsync(int port, CancellationToken cancellationToken)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync("127.0.0.1", port, cancellationToken);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static async Task<bool> GrpcServingAsync(Uri address, CancellationToken cancellationToken)
    {
        using var channel = GrpcChannel.ForAddress(address);
        try
        {
            var reply = await new Health.HealthClient(channel).CheckAsync(
                new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            return true;
        }
        catch (RpcException)
        {
            return false;
        }
    }
}
