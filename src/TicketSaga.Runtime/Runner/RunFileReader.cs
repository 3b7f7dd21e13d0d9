using TicketSaga.Runtime.Hosting;
using YamlDotNet.Core;
using YamlDotNet.Serialization;

namespace TicketSaga.Runtime.Runner;

/// <summary>
/// Reads the Dapr CLI's multi-app run file format (version 1): the same precedence as `dapr run -f`
/// (an app's own setting, then <c>common</c>), paths relative to the file's folder, and an app's
/// <c>.dapr/resources</c> folder used when no resources path is named; <c>configFilePath</c> names the
/// Configuration (accessControl) every sidecar applies. Unknown fields (logLevel, placementHostAddress...)
/// are accepted and ignored, so a file written for real Dapr works unchanged.
/// </summary>
internal static class RunFileReader
{
    public const string DefaultFileName = "dapr.yaml";

    public static RunFile Read(string path)
    {
        var filePath = Path.GetFullPath(Directory.Exists(path) ? Path.Combine(path, DefaultFileName) : path);
        if (!File.Exists(filePath))
        {
            throw new RunFileException($"{filePath}: run file not found.");
        }

        var document = Deserialize(filePath);
        var errors = new Errors(filePath);
        if (document is null)
        {
            throw errors.Single("the file is empty; expected 'version: 1' and 'apps'.");
        }

        if (document.Version != 1)
        {
            errors.Add("version", document.Version is null ? "is required (version: 1)." : $"{document.Version} is not supported; expected 1.");
        }

        if (document.Apps is not { Count: > 0 })
        {
            errors.Add("apps", "must list at least one app.");
        }

        var folder = Path.GetDirectoryName(filePath)!;
        var common = document.Common ?? new SharedSettings();
        var apps = (document.Apps ?? []).Select((app, index) => Resolve(app ?? new AppSettings(), common, folder, $"apps[{index}]", errors)).ToList();
        CheckUnique(apps, errors);
        var configFilePath = ConfigFilePath(document.Apps ?? [], common, folder, errors);
        errors.ThrowIfAny();
        return new RunFile(filePath, apps!, configFilePath);
    }

    private static RunFileDocument? Deserialize(string filePath)
    {
        var deserializer = new DeserializerBuilder().IgnoreUnmatchedProperties().Build();
        try
        {
            return deserializer.Deserialize<RunFileDocument?>(File.ReadAllText(filePath));
        }
        catch (YamlException ex)
        {
            var reason = ex.InnerException?.Message ?? ex.Message;
            throw new RunFileException($"{filePath}({ex.Start.Line},{ex.Start.Column}): not a valid run file: {reason}", ex);
        }
    }

    private static RunFileApp? Resolve(AppSettings app, SharedSettings common, string folder, string at, Errors errors)
    {
        if (string.IsNullOrWhiteSpace(app.AppId))
        {
            errors.Add($"{at}.appID", "is required.");
        }

        var appDir = Path.GetFullPath(Path.Combine(folder, app.AppDirPath ?? "."));
        if (!Directory.Exists(appDir))
        {
            errors.Add($"{at}.appDirPath", $"folder '{appDir}' does not exist.");
        }

        var protocol = (app.AppProtocol ?? common.AppProtocol ?? "http").ToLowerInvariant() switch
        {
            "http" => AppChannelProtocol.Http,
            "grpc" => AppChannelProtocol.Grpc,
            var other => errors.Add($"{at}.appProtocol", $"'{other}' is not supported; use http or grpc.", AppChannelProtocol.Http),
        };

        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in (common.Env ?? []).Concat(app.Env ?? []))
        {
            env[name] = value ?? "";
        }

        var healthPath = app.AppHealthCheckPath ?? common.AppHealthCheckPath;
        if (healthPath is not null && !healthPath.StartsWith('/'))
        {
            errors.Add($"{at}.appHealthCheckPath", $"'{healthPath}' must start with '/'.");
        }

        return new RunFileApp(
            AppId: app.AppId ?? "",
            AppDirPath: appDir,
            AppPort: Port(app.AppPort, $"{at}.appPort", errors),
            Protocol: protocol,
            Command: app.Command ?? [],
            Env: env,
            ResourcesPaths: ResourcesPaths(app, common, folder, appDir, at, errors),
            AppHealthCheckPath: healthPath,
            DaprHttpPort: Port(app.DaprHttpPort, $"{at}.daprHTTPPort", errors),
            DaprGrpcPort: Port(app.DaprGrpcPort, $"{at}.daprGRPCPort", errors),
            AppLogDestination: Destination(app.AppLogDestination ?? common.AppLogDestination, LogDestination.FileAndConsole, $"{at}.appLogDestination", errors),
            DaprdLogDestination: Destination(app.DaprdLogDestination ?? common.DaprdLogDestination, LogDestination.File, $"{at}.daprdLogDestination", errors));
    }

    /// <summary>
    /// An app's own resources paths (relative to its appDirPath, as the Dapr CLI resolves them), else its
    /// <c>.dapr/resources</c> folder, else common's (relative to the run file); the Dapr CLI's order.
    /// </summary>
    private static List<string> ResourcesPaths(AppSettings app, SharedSettings common, string folder, string appDir, string at, Errors errors)
    {
        var own = app.AllResourcesPaths();
        if (own.Count > 0)
        {
            return Existing(own, appDir, $"{at}.resourcesPath", errors);
        }

        var conventional = Path.Combine(appDir, ".dapr", "resources");
        return Directory.Exists(conventional) ? [conventional] : Existing(common.AllResourcesPaths(), folder, "common.resourcesPath", errors);
    }

    /// <summary>The one Configuration of the run (an app's own, else common's): the embedded runtime applies one to every sidecar.</summary>
    private static string? ConfigFilePath(List<AppSettings?> apps, SharedSettings common, string folder, Errors errors)
    {
        var named = apps.Select(app => app?.ConfigFilePath ?? common.ConfigFilePath).OfType<string>().Where(p => p.Length > 0)
            .Select(p => Path.GetFullPath(Path.Combine(folder, p))).Distinct().ToList();
        if (named.Count > 1)
        {
            errors.Add("configFilePath", $"the apps name {named.Count} Configurations ({string.Join(", ", named)}); the embedded runtime applies one to every sidecar.");
        }
        else if (named.Count == 1 && !File.Exists(named[0]))
        {
            errors.Add("configFilePath", $"file '{named[0]}' does not exist.");
        }

        return named.Count == 1 ? named[0] : null;
    }

    private static List<string> Existing(IReadOnlyList<string> paths, string folder, string field, Errors errors)
    {
        var resolved = paths.Select(p => Path.GetFullPath(Path.Combine(folder, p))).ToList();
        foreach (var missing in resolved.Where(p => !Directory.Exists(p)))
        {
            errors.Add(field, $"folder '{missing}' does not exist.");
        }

        return resolved;
    }

    private static int? Port(int? port, string field, Errors errors)
    {
        if (port is < 1 or > 65535)
        {
            errors.Add(field, $"{port} is not a TCP port (1-65535).");
            return null;
        }

        return port;
    }

    private static LogDestination Destination(string? value, LogDestination fallback, string field, Errors errors) =>
        value?.ToLowerInvariant() switch
        {
            null => fallback,
            "console" => LogDestination.Console,
            "file" => LogDestination.File,
            "fileandconsole" => LogDestination.FileAndConsole,
            _ => errors.Add(field, $"'{value}' is not one of console, file, fileAndConsole.", fallback),
        };

    private static void CheckUnique(List<RunFileApp?> apps, Errors errors)
    {
        var valid = apps.OfType<RunFileApp>().Where(a => a.AppId.Length > 0).ToList();
        foreach (var group in valid.GroupBy(a => a.AppId, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
        {
            errors.Add("apps", $"appID '{group.Key}' is used by {group.Count()} apps; app ids must be unique.");
        }

        var ports = valid.SelectMany(a => new[] { (a.AppId, Field: "appPort", Port: a.AppPort), (a.AppId, Field: "daprHTTPPort", Port: a.DaprHttpPort), (a.AppId, Field: "daprGRPCPort", Port: a.DaprGrpcPort) })
            .Where(p => p.Port is not null);
        foreach (var group in ports.GroupBy(p => p.Port).Where(g => g.Count() > 1))
        {
            var users = string.Join(", ", group.Select(p => $"{p.AppId}.{p.Field}"));
            errors.Add("apps", $"port {group.Key} is given to more than one listener ({users}).");
        }
    }

    /// <summary>Collects every problem of a file so the user fixes them in one go.</summary>
    private sealed class Errors(string filePath)
    {
        private readonly List<string> _messages = [];

        public void Add(string field, string message) => _messages.Add($"{field}: {message}");

        public T Add<T>(string field, string message, T fallback)
        {
            Add(field, message);
            return fallback;
        }

        public RunFileException Single(string message) => new($"{filePath}: {message}");

        public void ThrowIfAny()
        {
            if (_messages.Count > 0)
            {
                throw new RunFileException($"{filePath}: invalid run file:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", _messages));
            }
        }
    }

    private sealed class RunFileDocument
    {
        [YamlMember(Alias = "version")]
        public int? Version { get; set; }

        [YamlMember(Alias = "common")]
        public SharedSettings? Common { get; set; }

        [YamlMember(Alias = "apps")]
        public List<AppSettings?>? Apps { get; set; }
    }

    /// <summary>Settings allowed both in <c>common</c> and per app.</summary>
    private class SharedSettings
    {
        [YamlMember(Alias = "resourcesPath")]
        public string? ResourcesPath { get; set; }

        [YamlMember(Alias = "resourcesPaths")]
        public List<string>? ResourcesPaths { get; set; }

        [YamlMember(Alias = "appProtocol")]
        public string? AppProtocol { get; set; }

        [YamlMember(Alias = "env")]
        public Dictionary<string, string?>? Env { get; set; }

        [YamlMember(Alias = "configFilePath")]
        public string? ConfigFilePath { get; set; }

        [YamlMember(Alias = "appHealthCheckPath")]
        public string? AppHealthCheckPath { get; set; }

        [YamlMember(Alias = "appLogDestination")]
        public string? AppLogDestination { get; set; }

        [YamlMember(Alias = "daprdLogDestination")]
        public string? DaprdLogDestination { get; set; }

        public IReadOnlyList<string> AllResourcesPaths() =>
            [.. new[] { ResourcesPath }.Concat(ResourcesPaths ?? []).OfType<string>().Where(p => p.Length > 0).Distinct()];
    }

    private sealed class AppSettings : SharedSettings
    {
        [YamlMember(Alias = "appID")]
        public string? AppId { get; set; }

        [YamlMember(Alias = "appDirPath")]
        public string? AppDirPath { get; set; }

        [YamlMember(Alias = "appPort")]
        public int? AppPort { get; set; }

        [YamlMember(Alias = "command")]
        public List<string>? Command { get; set; }

        [YamlMember(Alias = "daprHTTPPort")]
        public int? DaprHttpPort { get; set; }

        [YamlMember(Alias = "daprGRPCPort")]
        public int? DaprGrpcPort { get; set; }
    }
}
