using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace TicketSaga.Gateway.Admission;

/// <summary>What the waiting room says to a buyer at the door.</summary>
public abstract record Admission
{
    private Admission()
    {
    }

    /// <summary>In: the order is forwarded now.</summary>
    public sealed record Admitted : Admission;

    /// <summary>Not yet: come back with the token after Retry-After; <see cref="Position"/> 1 is next.</summary>
    public sealed record Queued(int Position, string Token, TimeSpan RetryAfter) : Admission;

    /// <summary>The token presented is forged, or another buyer's or another event's.</summary>
    public sealed record TokenRefused(string Reason) : Admission;

    /// <summary>The queue is at its MaxQueueLength.</summary>
    public sealed record Full : Admission;

    public static readonly Admitted In = new();
}

/// <summary>
/// One queue per event (docs/waiting-room.md). Arrivals take numbers in order; a frontier advances at
/// the admission rate and a buyer whose number it has passed is let in. One place per user: asking
/// again, with or without the token, finds the same number. State is this gateway's memory, bounded by
/// MaxQueueLength per event.
/// </summary>
public sealed class WaitingRoom(IOptions<WaitingRoomOptions> options, QueueTokens tokens, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, Room> _rooms = new();

    public WaitingRoomMode ModeOf(string eventId) => options.Value.For(eventId).Mode;

    /// <param name="ordersInFlightFull">Whether Gateway:MaxOrdersInFlight orders are being forwarded right now.</param>
    public Admission Enter(string eventId, string userId, string? token, bool ordersInFlightFull)
    {
        var (mode, rate) = options.Value.For(eventId);
        if (mode == WaitingRoomMode.Off)
        {
            return Admission.In;
        }

        if (token is not null)
        {
            var place = tokens.Read(token);
            if (place is null)
            {
                return new Admission.TokenRefused("The Queue-Token is not one this gateway issued.");
            }

            if (place.UserId != userId)
            {
                return new Admission.TokenRefused("The Queue-Token belongs to another buyer.");
            }

            if (place.EventId != eventId)
            {
                return new Admission.TokenRefused("The Queue-Token is for another event.");
            }
        }

        var room = _rooms.GetOrAdd(eventId, _ => new Room(clock.GetTimestamp(), mode, rate));
        lock (room)
        {
            return room.Enter(new Entry(eventId, userId, mode, rate, ordersInFlightFull, clock.GetTimestamp()), options.Value, tokens, clock);
        }
    }

    /// <summary>A forwarded order of the event was answered: what Automatic measures its rate by.</summary>
    public void Completed(string eventId)
    {
        if (_rooms.TryGetValue(eventId, out var room))
        {
            Interlocked.Increment(ref room.CompletedSinceTick);
        }
    }

    private sealed record Entry(string EventId, string UserId, WaitingRoomMode Mode, double ConfiguredRate, bool OrdersInFlightFull, long Now);

    private sealed class Room(long now, WaitingRoomMode mode, double rate)
    {
        private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
        private static readonly TimeSpan SweepInterval = TimeSpan.FromSeconds(10);
        private const double MaxRate = 100_000;

        private readonly Dictionary<string, (long Number, long TakenAt)> _places = new(StringComparer.Ordinal);
        private long _tail;
        // A fixed-rate room opens with a second's worth of buyers let straight in.
        private double _frontier = mode == WaitingRoomMode.Fixed ? Math.Max(1, rate) : 0;
        private long _advancedAt = now;
        private long _tickAt = now;
        private long _sweptAt = now;
        private double _measuredRate = rate;
        private bool _saturated;

        public int CompletedSinceTick;

        public Admission Enter(Entry entry, WaitingRoomOptions options, QueueTokens tokens, TimeProvider clock)
        {
            var rate = entry.Mode == WaitingRoomMode.Fixed ? entry.ConfiguredRate : _measuredRate;
            _saturated |= entry.OrdersInFlightFull;
            Measure(entry, clock);
            Advance(entry, rate, clock);
            Sweep(entry.Now, options.PlaceLifetime, clock);

            long number;
            if (_places.TryGetValue(entry.UserId, out var place))
            {
                number = place.Number;
            }
            else if (entry.Mode == WaitingRoomMode.Automatic && _tail <= _frontier && !entry.OrdersInFlightFull)
            {
                // Nobody is waiting and there is room downstream: straight in, and nobody is overtaken.
                _tail++;
                _frontier = _tail;
                return Admission.In;
            }
            else if (_tail - _frontier >= options.MaxQueueLength)
            {
                return new Admission.Full();
            }
            else
            {
                number = ++_tail;
                _places[entry.UserId] = (number, entry.Now);
            }

            var token = tokens.Issue(new QueuePlace(entry.EventId, entry.UserId, number));
            if (number > _frontier)
            {
                var position = (int)Math.Min(int.MaxValue, Math.Ceiling(number - _frontier));
                // Far back, still come back every MaxRetryAfter: a buyer learns of a sell-out then, not when their turn comes.
                var wait = Math.Clamp(Math.Ceiling(position / rate), 1, options.MaxRetryAfter.TotalSeconds);
                return new Admission.Queued(position, token, TimeSpan.FromSeconds(wait));
            }

            // Its turn, but nothing can be forwarded this instant: it keeps its place at the front.
            if (entry.OrdersInFlightFull)
            {
                return new Admission.Queued(1, token, TimeSpan.FromSeconds(1));
            }

            _places.Remove(entry.UserId);
            return Admission.In;
        }

        private void Advance(Entry entry, double rate, TimeProvider clock)
        {
            var elapsed = clock.GetElapsedTime(_advancedAt, entry.Now).TotalSeconds;
            _advancedAt = entry.Now;
            // Fixed lets a second's worth in at once after a quiet spell; Automatic only what waits.
            var limit = entry.Mode == WaitingRoomMode.Fixed ? _tail + Math.Max(1, rate) : _tail;
            _frontier = Math.Max(_frontier, Math.Min(_frontier + (rate * elapsed), limit));
        }

        /// <summary>
        /// Automatic's rate, once a second: while orders back up downstream, what was answered in that
        /// second; while a queue waits with room downstream, a little more than that (probing upwards).
        /// </summary>
        private void Measure(Entry entry, TimeProvider clock)
        {
            var elapsed = clock.GetElapsedTime(_tickAt, entry.Now);
            if (elapsed < Tick)
            {
                return;
            }

            var measured = Interlocked.Exchange(ref CompletedSinceTick, 0) / elapsed.TotalSeconds;
            _measuredRate = _saturated ? Math.Max(1, measured)
                : _tail > _frontier ? Math.Min(MaxRate, (Math.Max(_measuredRate, measured) * 1.2) + 1)
                : Math.Max(entry.ConfiguredRate, measured);
            _saturated = entry.OrdersInFlightFull;
            _tickAt = entry.Now;
        }

        /// <summary>Places of buyers who never came back are forgotten after PlaceLifetime.</summary>
        private void Sweep(long now, TimeSpan lifetime, TimeProvider clock)
        {
            if (clock.GetElapsedTime(_sweptAt, now) < SweepInterval)
            {
                return;
            }

            _sweptAt = now;
            foreach (var user in _places.Where(p => clock.GetElapsedTime(p.Value.TakenAt, now) > lifetime).Select(p => p.Key).ToList())
            {
                _places.Remove(user);
            }
        }
    }
}
