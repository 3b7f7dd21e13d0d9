using System.Text.Json;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// What a running `ticketsaga up` tells other commands (`load`, `chaos`): the gateway, the sidecars' gRPC
/// ports, the Dapr API tokens of ticket-service's and venue-service's sidecars, which those commands call
/// (chosen at start, so not in dapr.yaml; no other app's, with which a reader could publish as it), and
/// the hold settings. Kept in <c>.ticketsaga/up.json</c> beside dapr.yaml (created readable by its owner
/// only) while `up` runs, deleted when it stops.
/// </summary>
internal sealed record UpSession(
    string Gateway, IReadOnlyDictionary<string, int> SidecarGrpcPorts, IReadOnlyDictionary<string, string> SidecarApiTokens, TimeSpan HoldDuration, TimeSpan SettleWindow)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    private static readonly string[] CalledByCommands = [AppIds.TicketService, AppIds.VenueService];

    public static string PathBeside(string runFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(runFile))!, ".ticketsaga", "up.json");

    public static UpSession From(RunSession session, OrderHold hold)
    {
        var gateway = session.Runner.Apps.FirstOrDefault(a => a.Definition.AppId == AppIds.Gateway);
        return new UpSession(
            $"http://127.0.0.1:{gateway?.Definition.AppPort ?? 5100}",
            session.Runner.Apps.ToDictionary(a => a.Definition.AppId, a => a.Descriptor.GrpcPort),
            CommandTokens(session.Runner.Apps.Select(a => KeyValuePair.Create(a.Definition.AppId, a.Descriptor.DaprApiToken))),
            hold.Duration,
            hold.SettleWindow);
    }

    /// <summary>The sidecar tokens the commands need, of all the apps' (app id → token).</summary>
    public static IReadOnlyDictionary<string, string> CommandTokens(IEnumerable<KeyValuePair<string, string?>> tokens) =>
        tokens.Where(t => t.Value is not null && CalledByCommands.Contains(t.Key)).ToDictionary(t => t.Key, t => t.Value!);

    public void Write(string runFile)
    {
        var path = PathBeside(runFile);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        // A file left by a crash keeps its mode when overwritten: made anew instead.
        File.Delete(path);
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            // Created so, not changed afterwards: no moment in which another user may open it.
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using var file = new FileStream(path, options);
        JsonSerializer.Serialize(file, this, Json);
    }

    public static UpSession? Read(string runFile)
    {
        var path = PathBeside(runFile);
        return File.Exists(path) ? JsonSerializer.Deserialize<UpSession>(File.ReadAllText(path), Json) : null;
    }

    /// <summary>Nothing to delete when `up` stopped before writing it: with --postgres no .ticketsaga folder may exist yet.</summary>
    public static void Delete(string runFile)
    {
        var path = PathBeside(runFile);
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}

/// <summary>
/// How long order-service holds seats (<c>Orders:HoldDuration</c>) and how long after that it waits for
/// a payment captured in time (<c>Orders:SettleWindow</c>). A short hold (`up --hold 20s`) also gets a
/// short settle window and sweep, so an expiry shows within seconds instead of the production defaults
/// (15 min + 60 s).
/// </summary>
internal sealed record OrderHold(TimeSpan Duration, TimeSpan SettleWindow, bool Configured)
{
    public static readonly OrderHold ServiceDefaults = new(TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(60), Configured: false);

    public static OrderHold Short(TimeSpan duration) => new(duration, TimeSpan.FromSeconds(10), Configured: true);

    /// <summary>The order-service environment for this hold; nothing when the service's own settings apply.</summary>
    public IReadOnlyDictionary<string, string> OrderServiceEnvironment => Configured
        ? new Dictionary<string, string>
        {
            ["Orders__HoldDuration"] = Duration.ToString("c"),
            ["Orders__SettleWindow"] = SettleWindow.ToString("c"),
            ["Orders__SweepInterval"] = SettleWindow.ToString("c"),
        }
        : new Dictionary<string, string>();
}
