namespace TicketSaga.Runtime.Runner;

/// <summary>
/// One app's output: each line to the console behind a coloured <c>== APP - id ==</c> prefix (the
/// Dapr CLI's format) and/or to the app's log file, as its appLogDestination says. The last lines are
/// kept to explain a failure.
/// </summary>
public sealed class AppLog : IDisposable
{
    private const int TailLength = 40;
    private static readonly string[] Palette = ["36", "35", "33", "32", "34", "91", "96", "95"];

    private readonly RunnerConsole _console;
    private readonly StreamWriter? _file;
    private readonly string _prefix;
    private readonly Queue<string> _tail = new();
    private readonly Lock _gate = new();

    public AppLog(string appId, int colorIndex, LogDestination destination, string filePath, RunnerConsole console)
    {
        FilePath = filePath;
        _console = console;
        var color = Palette[colorIndex % Palette.Length];
        _prefix = console.Colors ? $"\u001b[{color}m== APP - {appId} ==\u001b[0m " : $"== APP - {appId} == ";
        WritesToConsole = destination != LogDestination.File;
        if (destination != LogDestination.Console)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(filePath)!);
            _file = new StreamWriter(new FileStream(filePath, FileMode.Create, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        }
    }

    public string FilePath { get; }

    public bool WritesToConsole { get; }

    public void Write(string line)
    {
        lock (_gate)
        {
            _tail.Enqueue(line);
            if (_tail.Count > TailLength)
            {
                _tail.Dequeue();
            }

            _file?.WriteLine(line);
        }

        if (WritesToConsole)
        {
            _console.WriteLine(_prefix + line);
        }
    }

    /// <summary>The app's last lines of output, for an error message.</summary>
    public string Tail(int lines = 20)
    {
        lock (_gate)
        {
            var last = _tail.TakeLast(lines).ToList();
            return last.Count == 0 ? "    (no output)" : string.Join(Environment.NewLine, last.Select(l => "    " + l));
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
        }
    }
}

/// <summary>The terminal shared by every app's log: whole lines, never interleaved mid-line.</summary>
public sealed class RunnerConsole(TextWriter writer, bool colors)
{
    private readonly Lock _gate = new();

    public bool Colors { get; } = colors;

    /// <summary>Colours unless the output is redirected or NO_COLOR is set (https://no-color.org).</summary>
    public static RunnerConsole Standard() => new(
        Console.Out, !Console.IsOutputRedirected && string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR")));

    public void WriteLine(string line)
    {
        lock (_gate)
        {
            writer.WriteLine(line);
            writer.Flush();
        }
    }
}
