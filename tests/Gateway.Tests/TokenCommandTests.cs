using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Microsoft.IdentityModel.JsonWebTokens;

namespace TicketSaga.Gateway.Tests;

/// <summary>The real `ticketsaga token` executable, in a folder laid out like a checkout after `ticketsaga up`.</summary>
[Collection(nameof(GatewayTests))]
public sealed class TokenCommandTests(GatewaySystem system) : IDisposable
{
    private readonly string _checkout = Directory.CreateTempSubdirectory("ticketsaga-token-").FullName;

    [Fact]
    public async Task The_printed_token_is_accepted_by_the_gateway_for_that_user()
    {
        WriteCheckout(signingKey: system.Auth.SigningKey);
        var user = GatewaySystem.NewUser();

        var (exitCode, output, error) = await RunAsync("token", "--user", user, "--lifetime", "15m");

        Assert.True(exitCode == 0, error);
        var token = output.Trim();
        var parsed = new JsonWebToken(token);
        Assert.Equal(user, parsed.Subject);
        Assert.Equal(TimeSpan.FromMinutes(15), parsed.ValidTo - parsed.ValidFrom);
        using var client = system.Client();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/orders")).StatusCode);
        Assert.Equal(user, Assert.Single(system.Orders.ReceivedFrom(user)).Header("X-User-Id"));
    }

    [Fact]
    public async Task Without_a_signing_key_it_says_to_run_up_first()
    {
        WriteCheckout(signingKey: null);

        var (exitCode, output, error) = await RunAsync("token", "--user", "alice");

        Assert.Equal(1, exitCode);
        Assert.Empty(output);
        Assert.Contains("ticketsaga up", error);
    }

    [Fact]
    public async Task A_bad_lifetime_is_refused()
    {
        WriteCheckout(signingKey: system.Auth.SigningKey);

        var (exitCode, output, error) = await RunAsync("token", "--user", "alice", "--lifetime", "-5m");

        Assert.Equal(2, exitCode);
        Assert.Empty(output);
        Assert.Contains("--lifetime", error);
    }

    public void Dispose() => Directory.Delete(_checkout, recursive: true);

    private void WriteCheckout(string? signingKey)
    {
        File.WriteAllText(Path.Combine(_checkout, "dapr.yaml"), "version: 1\napps: []\n");
        if (signingKey is not null)
        {
            Directory.CreateDirectory(Path.Combine(_checkout, ".ticketsaga"));
            File.WriteAllText(Path.Combine(_checkout, ".ticketsaga", "dev-signing-key"), signingKey);
        }
    }

    private async Task<(int ExitCode, string Output, string Error)> RunAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet", [GatewaySystem.CliPath, .. arguments])
        {
            WorkingDirectory = _checkout,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output, await error);
    }
}
