using System.Security.Cryptography;

namespace TicketSaga.Testing;

/// <summary>
/// The Dapr API token of every sidecar a test process starts with tokens. The Dapr SDKs read
/// DAPR_API_TOKEN from the process environment, which all in-process apps share, so one token serves
/// them all here (the runner gives each app its own).
/// </summary>
public static class SidecarTokens
{
    public static string DaprApiToken { get; } = Create();

    private static string Create()
    {
        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        Environment.SetEnvironmentVariable("DAPR_API_TOKEN", token);
        return token;
    }
}
