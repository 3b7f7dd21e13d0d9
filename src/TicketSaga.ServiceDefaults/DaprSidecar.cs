using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// Where the app's own Dapr sidecar listens, as `dapr run`, the embedded runner and the Helm chart
/// announce it: <c>DAPR_GRPC_ENDPOINT</c> / <c>DAPR_HTTP_ENDPOINT</c>, else loopback on
/// <c>DAPR_GRPC_PORT</c> / <c>DAPR_HTTP_PORT</c>, else Dapr's default ports. Read from configuration
/// (the environment included), so a test host can give them as settings.
/// </summary>
public static class DaprSidecar
{
    public static string GrpcEndpoint(IConfiguration configuration) => Endpoint(configuration, "GRPC", 50001);

    public static string HttpEndpoint(IConfiguration configuration) => Endpoint(configuration, "HTTP", 3500);

    /// <summary>The token the sidecar requires on calls to its API (<c>DAPR_API_TOKEN</c>), or null when it requires none.</summary>
    public static string? ApiToken(IConfiguration configuration) => configuration["DAPR_API_TOKEN"] is { Length: > 0 } token ? token : null;

    private static string Endpoint(IConfiguration configuration, string protocol, int defaultPort) =>
        configuration[$"DAPR_{protocol}_ENDPOINT"] is { Length: > 0 } endpoint
            ? endpoint
            : $"http://127.0.0.1:{configuration[$"DAPR_{protocol}_PORT"] ?? defaultPort.ToString(CultureInfo.InvariantCulture)}";
}
