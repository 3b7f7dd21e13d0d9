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
    public Uri AppAddress => new($"http://127.0.0.1:{AppPort}");

    /// <summary>The environment `dapr run` gives an app so that the Dapr SDKs find their sidecar.</summary>
    public IReadOnlyDictionary<string, string> AppEnvironment => new Dictionary<string, string>
    {
        ["APP_ID"] = AppId,
        ["APP_PORT"] = AppPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DAPR_HTTP_PORT"] = HttpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DAPR_GRPC_PORT"] = GrpcPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{HttpPort}",
        ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{GrpcPort}",
    };
}
