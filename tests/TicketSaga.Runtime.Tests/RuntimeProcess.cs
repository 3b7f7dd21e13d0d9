using System.Diagnostics;
using System.Globalization;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Tests;

/// <summary>
/// The embedded runtime with one app's sidecar in a process of its own (TicketSaga.Runtime.CrashHost),
/// so that a test can kill it as a crash would (SIGKILL: no shutdown code runs) and start it again
/// on the same database and ports.
/// </summary>
public sealed class RuntimeProcess : IDisposable
{
    private readonly Process _process;

    private RuntimeProcess(Process process) => _process = process;

    public static async Task<RuntimeProcess> StartAsync(string connectionString, AppDescriptor app, TimeSpan lockTimeout)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "TicketSaga.Runtime.CrashHost.dll");
        var info = new ProcessStartInfo("dotnet",
        [
            host, connectionString, app.AppId, Text(app.AppPort), Text(app.HttpPort), Text(app.GrpcPort), Text((int)lockTimeout.TotalMilliseconds),
        ])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(info)!;
        _ = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line == "ready")
            {
                _ = process.StandardOutput.ReadToEndAsync();
                return new RuntimeProcess(process);
            }
        }

        throw new InvalidOperationException($"The runtime process exited with {process.ExitCode} before it was ready.");
    }

    /// <summary>SIGKILL, and waits until the process is gone.</summary>
    public void Kill()
    {
        _process.Kill();
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
}
