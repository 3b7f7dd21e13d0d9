using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Runner;

/// <summary>Where an app's (or its sidecar's) output goes, as in the Dapr CLI's run file.</summary>
public enum LogDestination
{
    Console,
    File,
    FileAndConsole,
}

/// <summary>
/// A multi-app run file (`dapr run -f`), resolved: common settings applied to every app, relative
/// paths made absolute against the run file's folder; <paramref name="ConfigFilePath"/> is the
/// Configuration (daprd's --config) the sidecars apply.
/// </summary>
public sealed record RunFile(string FilePath, IReadOnlyList<RunFileApp> Apps, string? ConfigFilePath = null)
{
    /// <summary>The run file's folder: relative paths in it are relative to this folder.</summary>
    public string Directory => Path.GetDirectoryName(FilePath)!;

    /// <summary>Reads a run file; <paramref name="path"/> may be the file or a folder holding dapr.yaml.</summary>
    public static RunFile Load(string path) => RunFileReader.Read(path);
}

/// <summary>One app of a run file with everything the runner needs to start it.</summary>
public sealed record RunFileApp(
    string AppId,
    string AppDirPath,
    int? AppPort,
    AppChannelProtocol Protocol,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyList<string> ResourcesPaths,
    string? AppHealthCheckPath,
    int? DaprHttpPort,
    int? DaprGrpcPort,
    LogDestination AppLogDestination,
    LogDestination DaprdLogDestination);

/// <summary>A run file that cannot be used; the message names the file and the field.</summary>
public sealed class RunFileException(string message, Exception? inner = null) : Exception(message, inner);
