namespace TicketSaga.Gateway.Admission;

public enum WaitingRoomMode
{
    /// <summary>No queue: beyond Gateway:MaxOrdersInFlight a buyer is answered 503 overloaded.</summary>
    Off,

    /// <summary>Buyers are admitted at AdmissionsPerSecond, in arrival order, whatever the load.</summary>
    Fixed,

    /// <summary>Buyers pass freely until the orders in flight reach their limit; then they queue and are admitted at the measured rate.</summary>
    Automatic,
}

/// <summary>One event's waiting room; what is unset comes from the section's defaults.</summary>
public sealed class EventWaitingRoom
{
    public WaitingRoomMode? Mode { get; set; }

    public double? AdmissionsPerSecond { get; set; }
}

/// <summary>Settings under <c>WaitingRoom</c> (docs/waiting-room.md): the defaults and per-event overrides under <c>Events:{event_id}</c>.</summary>
public sealed class WaitingRoomOptions
{
    public const string SectionName = "WaitingRoom";

    public WaitingRoomMode Mode { get; set; } = WaitingRoomMode.Automatic;

    /// <summary>Fixed: the admission rate. Automatic: the rate until one is measured.</summary>
    public double AdmissionsPerSecond { get; set; } = 100;

    /// <summary>Places an event's queue holds; beyond it buyers are answered 503 overloaded (memory stays bounded).</summary>
    public int MaxQueueLength { get; set; } = 100_000;

    /// <summary>How long a place (and its queue token) is kept for a buyer who does not come back.</summary>
    public TimeSpan PlaceLifetime { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The longest Retry-After a queued buyer is given, however far back: buyers come back at least
    /// this often, so that those behind a sell-out are told "sold out" within it (whole seconds, 1 s to 5 min).
    /// </summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Base64 key (at least 32 bytes) that signs queue tokens; the same on every gateway replica. Empty:
    /// a key made at start, so tokens do not outlive the process (nor do the places they name).
    /// </summary>
    public string TokenKey { get; set; } = "";

    public Dictionary<string, EventWaitingRoom> Events { get; set; } = [];

    public (WaitingRoomMode Mode, double AdmissionsPerSecond) For(string eventId) =>
        Events.TryGetValue(eventId, out var room)
            ? (room.Mode ?? Mode, room.AdmissionsPerSecond ?? AdmissionsPerSecond)
            : (Mode, AdmissionsPerSecond);

    internal bool HasValidTokenKey()
    {
        if (TokenKey.Length == 0)
        {
            return true;
        }

        var key = new byte[TokenKey.Length];
        return Convert.TryFromBase64String(TokenKey, key, out var length) && length >= 32;
    }
}
