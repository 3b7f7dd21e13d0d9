using System.Globalization;
using System.Security.Cryptography;

namespace TicketSaga.Runtime.Hosting;

public enum AppChannelProtocol
{
    Http,
    Grpc,
}

/// <summary>
/// One app and its sidecar's ports, as `dapr run` assigns them: the app listens on
/// <see cref="AppPort"/>, the sidecar serves the Dapr HTTP API on <see cref="HttpPort"/> and the
/// Dapr gRPC API (plus gRPC invocation and workflows) on <see cref="GrpcPort"/>.
/// </summary>
public sealed record AppDescriptor(string AppId, int AppPort, AppChannelProtocol Protocol, int HttpPort, int GrpcPort)
{
    /// <summary>The header (gRPC metadata) that carries both Dapr tokens.</summary>
    public const string TokenHeader = "dapr-api-token";

    /// <summary>
    /// What the sidecar sends the app on every call (daprd's <c>APP_API_TOKEN</c>), so that the app
    /// can tell its sidecar from anyone else on the network; none sends nothing.
    /// </summary>
    public string? AppApiToken { get; init; }

    /// <summary>What the sidecar requires on every call to its Dapr API (daprd's <c>DAPR_API_TOKEN</c>); none requires nothing.</summary>
    public string? DaprApiToken { get; init; }

    public Uri AppAddress => new($"http://127.0.0.1:{AppPort}");

    /// <summary>An app run without an app port (a client) is never called by its sidecar, as daprd without <c>--app-port</c>.</summary>
    public bool HasAppChannel => AppPort > 0;

    /// <summary>The same app with a fresh random app API token and Dapr API token, as the runner gives each app per run.</summary>
    public AppDescriptor WithNewTokens() => this with { AppApiToken = NewToken(), DaprApiToken = NewToken() };

    /// <summary>
    /// The environment `dapr run` gives an app so that the Dapr SDKs find their sidecar, and the tokens
    /// (Dapr's names): the SDKs send DAPR_API_TOKEN, the app checks APP_API_TOKEN.
    /// </summary>
    public IReadOnlyDictionary<string, string> AppEnvironment
    {
        get
        {
            var environment = new Dictionary<string, string>
            {
                ["APP_ID"] = AppId,
                ["APP_PORT"] = AppPort.ToString(CultureInfo.InvariantCulture),
                ["DAPR_HTTP_PORT"] = HttpPort.ToString(CultureInfo.InvariantCulture),
                ["DAPR_GRPC_PORT"] = GrpcPort.ToString(CultureInfo.InvariantCulture),
                ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{HttpPort}",
                ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{GrpcPort}",
            };
            if (AppApiToken is not null)
            {
                environment["APP_API_TOKEN"] = AppApiToken;
            }

            if (DaprApiToken is not null)
            {
                environment["DAPR_API_TOKEN"] = DaprApiToken;
            }

            return environment;
        }
    }

    /// <summary>Adds the app API token to a call the sidecar makes to the app, as daprd does.</summary>
    public void Authenticate(HttpRequestMessage request)
    {
        request.Headers.Remove(TokenHeader);
        if (AppApiToken is not null)
        {
            request.Headers.TryAddWithoutValidation(TokenHeader, AppApiToken);
        }
    }

    private static string NewToken() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
}
