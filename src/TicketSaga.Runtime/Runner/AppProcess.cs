using System.ComponentModel;
using System.Diagnostics;

namespace TicketSaga.Runtime.Runner;

/// <summary>An app's process: its command in its folder, its output copied line by line to its log.</summary>
public sealed class AppProcess
{
    private readonly Process _process;
    private readonly Task _completion;
    private volatile List<(int Pid, long StartTime)> _descendants = [];
    private volatile bool _stopRequested;

    private AppProcess(Process process, Task completion)
    {
        _process = process;
        _completion = completion;
        Exited = WaitForExitAsync();
    }

    public int Id => _process.Id;

    /// <summary>Completes with the exit code once the process has exited and its output is drained.</summary>
    public Task<int> Exited { get; }

    public bool HasExited => _process.HasExited;

    public static AppProcess Start(RunFileApp app, IReadOnlyDictionary<string, string> environment, AppLog log)
    {
        var info = new ProcessStartInfo(ResolveExecutable(app.Command[0], app.AppDirPath))
        {
            WorkingDirectory = app.AppDirPath,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in app.Command.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        Process process;
        try
        {
            process = Process.Start(info) ?? throw new RunnerException($"App '{app.AppId}': '{app.Command[0]}' did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new RunnerException($"App '{app.AppId}': cannot start '{string.Join(' ', app.Command)}' in {app.AppDirPath}: {ex.Message}", ex);
        }

        // Apps get no terminal input; Ctrl+C reaches them through the runner instead.
        process.StandardInput.Close();
        var completion = Task.WhenAll(Pump(process.StandardOutput, log), Pump(process.StandardError, log));
        return new AppProcess(process, completion);
    }

    public Task StopAsync(TimeSpan grace)
    {
        _stopRequested = true;
        return _process.HasExited ? Task.CompletedTask : ProcessTree.StopAsync(_process, grace);
    }

    /// <summary>
    /// Notes the processes the app has started by now (e.g. the app under `dotnet run`): those still
    /// alive when the app's own process ends (SIGKILLed, crashed) are killed then, since they would hold
    /// its output pipes and the ports a restart needs.
    /// </summary>
    public void NoteDescendants() => _descendants = ProcessTree.Descendants(_process.Id);

    private async Task<int> WaitForExitAsync()
    {
        await _process.WaitForExitAsync();
        if (!_stopRequested)
        {
            // A stop gives the descendants their own grace period (ProcessTree.StopAsync).
            ProcessTree.KillSurvivors(_descendants);
        }

        await _completion;
        return _process.ExitCode;
    }

    /// <summary>Like a shell: a command with a slash is a path (relative to the app's folder), otherwise it is looked up on PATH.</summary>
    private static string ResolveExecutable(string command, string appDirectory) =>
        command.Contains('/') || command.Contains('\\') ? Path.GetFullPath(Path.Combine(appDirectory, command)) : command;

    private static async Task Pump(StreamReader reader, AppLog log)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            log.Write(line);
        }
    }
}

/// <summary>The runner could not start or keep an app running; the message says which and why.</summary>
public sealed class RunnerException(string message, Exception? inner = null) : Exception(message, inner);
