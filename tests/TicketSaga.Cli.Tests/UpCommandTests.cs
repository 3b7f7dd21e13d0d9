using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Cli.Tests;

/// <summary>`ticketsaga up` as a newcomer meets it, run as the real command in a folder holding a dapr.yaml.</summary>
public sealed class UpCommandTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-up-").FullName;

    [Fact]
    public async Task A_taken_app_port_is_one_line_naming_the_process_holding_it_and_exit_code_1_before_anything_starts()
    {
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => File.Exists(Path.Combine(dir, "python3")));
        Assert.SkipUnless(onPath, "python3 is not installed");
        var port = PortAllocator.FreePort();
        using var holder = Process.Start(new ProcessStartInfo("python3",
            ["-c", $"import socket, time\ns = socket.socket()\ns.bind(('127.0.0.1', {port}))\ns.listen()\nprint('listening', flush=True)\ntime.sleep(300)"])
        {
            RedirectStandardOutput = true,
        })!;
        try
        {
            Assert.Equal("listening", await holder.StandardOutput.ReadLineAsync(TestContext.Current.CancellationToken));
            WriteRunFile(gatewayPort: port);

            var (exitCode, output, error) = await UpAsync(stripeStubPort: PortAllocator.FreePort());

            Assert.Equal(1, exitCode);
            Assert.Equal($"Port {port} (gateway) is already taken by python3 (pid {holder.Id}); stop it or free the port, then try again.", error.TrimEnd('\n'));
            Assert.Equal("", output);
            Assert.False(Directory.Exists(Path.Combine(_folder, ".ticketsaga")), "something started before the port check");
        }
        finally
        {
            holder.Kill();
        }
    }

    [Fact]
    public async Task A_taken_Stripe_stub_port_is_one_line_and_exit_code_1_instead_of_the_stubs_stack_trace()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        WriteRunFile(gatewayPort: PortAllocator.FreePort());

        var (exitCode, output, error) = await UpAsync(stripeStubPort: port);

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"Port {port} (the local Stripe stub) is already taken by ", error);
        Assert.Contains($"(pid {Environment.ProcessId})", error);
        Assert.Single(error.TrimEnd('\n').Split('\n'));
        Assert.Equal("", output);
    }

    [Fact]
    public async Task An_unreachable_PostgreSQL_is_one_line_and_exit_code_1_instead_of_a_stack_trace()
    {
        WriteRunFile(gatewayPort: PortAllocator.FreePort());
        var nobody = PortAllocator.FreePort();

        var (exitCode, output, error) = await UpAsync(stripeStubPort: PortAllocator.FreePort(), "--postgres", $"Host=127.0.0.1;Port={nobody};Username=postgres;Password=x;Timeout=3");

        Assert.Equal(1, exitCode);
        Assert.StartsWith($"Cannot connect to PostgreSQL at postgres@127.0.0.1:{nobody}", error);
        Assert.DoesNotContain("   at ", error);
        Assert.DoesNotContain("Exception", output + error);
    }

    private void WriteRunFile(int gatewayPort) => File.WriteAllText(Path.Combine(_folder, "dapr.yaml"), $"""
        version: 1
        apps:
          - appID: gateway
            appPort: {gatewayPort}
            command: ["sh", "-c", "exec sleep 60"]
        """);

    /// <summary>The built CLI (copied beside the tests), run as a user would, with the local Stripe stub on the given port.</summary>
    private async Task<(int ExitCode, string Output, string Error)> UpAsync(int stripeStubPort, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "ticketsaga.dll"), "up", "--no-build", .. arguments])
        {
            WorkingDirectory = _folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment.Remove("Stripe__ApiKey");
        info.Environment["TICKETSAGA_STRIPE_STUB_PORT"] = stripeStubPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        info.Environment["NO_COLOR"] = "1";
        using var up = Process.Start(info)!;
        var output = up.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = up.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await up.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!up.HasExited)
            {
                up.Kill(entireProcessTree: true);
            }
        }

        return (up.ExitCode, await output, await error);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
