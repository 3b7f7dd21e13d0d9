using Microsoft.Extensions.Logging;

namespace TicketSaga.Runtime.Runner;

/// <summary>
/// The sidecars' own log (daprd's, in `dapr run`): every entry to runtime.log in the log folder,
/// warnings and errors also on the console behind a <c>== DAPR ==</c> prefix when asked.
/// </summary>
internal sealed class RunnerLoggerProvider(string filePath, RunnerConsole? console) : ILoggerProvider
{
    private readonly StreamWriter _file = CreateFile(filePath);
    private readonly Lock _gate = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
        lock (_gate)
        {
            _file.Dispose();
        }
    }

    private static StreamWriter CreateFile(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new StreamWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    }

    private void Write(LogLevel level, string category, string message, Exception? exception)
    {
        var line = $"{DateTimeOffset.UtcNow:O} {level} {category}: {message}{(exception is null ? "" : Environment.NewLine + exception)}";
        lock (_gate)
        {
            _file.WriteLine(line);
        }

        if (console is not null && level >= LogLevel.Warning)
        {
            console.WriteLine((console.Colors ? "\u001b[90m== DAPR ==\u001b[0m " : "== DAPR == ") + $"{level} {category}: {message}");
        }
    }

    private sealed class Logger(RunnerLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                provider.Write(logLevel, category, formatter(state, exception), exception);
            }
        }
    }
}
