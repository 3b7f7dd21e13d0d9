using System.Diagnostics;
using System.Text;
using Npgsql;
using TicketSaga.Runtime.Postgres;
using TicketSaga.Testing;

namespace TicketSaga.Cli.Tests;

/// <summary>`ticketsaga run -f samples/…` as a user would run it, on a runtime database of its own (an empty store).</summary>
internal sealed class SampleRun : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly PostgresServer _postgres;
    private readonly string _database;

    private SampleRun(Process process, PostgresServer postgres, string database)
    {
        _process = process;
        _postgres = postgres;
        _database = database;
        process.OutputDataReceived += (_, line) => Append(line.Data);
        process.ErrorDataReceived += (_, line) => Append(line.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <param name="folder">The sample's folder; <paramref name="runFile"/> is relative to it.</param>
    /// <param name="environment">Variables the run (the runtime and its apps) gets on top of this process's.</param>
    /// <param name="noBuild">Skip the build of the solution beside the run file, built already by the test's fixture.</param>
    public static SampleRun Start(PostgresServer postgres, string folder, string runFile, IReadOnlyDictionary<string, string>? environment = null, bool noBuild = true)
    {
        var database = "dapr_samples_" + Guid.NewGuid().ToString("N")[..12];
        List<string> arguments =
        [
            Path.Combine(AppContext.BaseDirectory, "ticketsaga.dll"), "run", "-f", Path.Combine(folder, runFile),
            "--postgres", postgres.ConnectionString, "--runtime-database", database,
        ];
        if (noBuild)
        {
            arguments.Add("--no-build");
        }

        var info = new ProcessStartInfo("dotnet", arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["NO_COLOR"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        return new SampleRun(Process.Start(info)!, postgres, database);
    }

    public async Task WaitForAsync(string text)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (!Output.Contains(text, StringComparison.Ordinal))
        {
            Assert.False(_process.HasExited, $"The run ended before '{text}':{Environment.NewLine}{Output}");
            Assert.True(DateTime.UtcNow < deadline, $"No '{text}' within 3 minutes:{Environment.NewLine}{Output}");
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Waits for a run whose apps all end by themselves.</summary>
    public async Task<int> ExitCodeAsync()
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        await _process.WaitForExitAsync(timeout.Token);
        return _process.ExitCode;
    }

    /// <summary>Stops the run as Ctrl+C would, then drops its runtime database.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using var interrupt = Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
        await using var connection = new NpgsqlConnection(_postgres.ConnectionString);
        await connection.OpenAsync();
        await PostgresDatabase.DropAsync(connection, _database);
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
