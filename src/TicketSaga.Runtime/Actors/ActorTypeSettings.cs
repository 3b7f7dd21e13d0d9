using System.Text.Json;

namespace TicketSaga.Runtime.Actors;

/// <summary>
/// An actor type's settings from the hosting app's <c>GET /dapr/config</c>, with Dapr's defaults for
/// anything the app leaves out (idle timeout 60 min, scan interval 30 s, drain timeout 60 s,
/// reentrancy off with a max stack depth of 32).
/// </summary>
public sealed record ActorTypeSettings(
    TimeSpan IdleTimeout,
    TimeSpan ScanInterval,
    TimeSpan DrainOngoingCallTimeout,
    bool DrainRebalancedActors,
    bool ReentrancyEnabled,
    int ReentrancyMaxStackDepth)
{
    public static ActorTypeSettings Defaults { get; } = new(
        TimeSpan.FromMinutes(60), TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(60), true, false, 32);

    /// <summary>Types and settings from a <c>/dapr/config</c> answer; <c>entitiesConfig</c> overrides per type.</summary>
    public static IReadOnlyDictionary<string, ActorTypeSettings> FromAppConfig(JsonElement config)
    {
        var types = new Dictionary<string, ActorTypeSettings>(StringComparer.Ordinal);
        if (config.ValueKind != JsonValueKind.Object || !config.TryGetProperty("entities", out var entities) || entities.ValueKind != JsonValueKind.Array)
        {
            return types;
        }

        var appWide = Defaults.OverriddenBy(config);
        foreach (var entity in entities.EnumerateArray())
        {
            types[entity.GetString()!] = appWide;
        }

        if (config.TryGetProperty("entitiesConfig", out var perType) && perType.ValueKind == JsonValueKind.Array)
        {
            foreach (var entry in perType.EnumerateArray())
            {
                var settings = appWide.OverriddenBy(entry);
                foreach (var entity in entry.GetProperty("entities").EnumerateArray())
                {
                    types[entity.GetString()!] = settings;
                }
            }
        }

        return types;
    }

    private ActorTypeSettings OverriddenBy(JsonElement config)
    {
        TimeSpan Duration(string name, TimeSpan fallback) =>
            config.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrEmpty(value.GetString())
                ? ActorSchedule.Parse(value.GetString(), null, null, DateTimeOffset.UnixEpoch).FirstFireAt - DateTimeOffset.UnixEpoch
                : fallback;

        var reentrancy = config.TryGetProperty("reentrancy", out var r) && r.ValueKind == JsonValueKind.Object ? r : default;
        return new ActorTypeSettings(
            Duration("actorIdleTimeout", IdleTimeout),
            Duration("actorScanInterval", ScanInterval),
            Duration("drainOngoingCallTimeout", DrainOngoingCallTimeout),
            config.TryGetProperty("drainRebalancedActors", out var drain) && drain.ValueKind is JsonValueKind.True or JsonValueKind.False ? drain.GetBoolean() : DrainRebalancedActors,
            reentrancy.ValueKind == JsonValueKind.Object && reentrancy.TryGetProperty("enabled", out var enabled) ? enabled.GetBoolean() : ReentrancyEnabled,
            reentrancy.ValueKind == JsonValueKind.Object && reentrancy.TryGetProperty("maxStackDepth", out var depth) ? depth.GetInt32() : ReentrancyMaxStackDepth);
    }
}
