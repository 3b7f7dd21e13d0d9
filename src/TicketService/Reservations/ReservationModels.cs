using Grpc.Core;

namespace TicketSaga.TicketService.Reservations;

/// <summary>The values mirror ticketsaga.ticket.v1.ReleaseReason; stored by name (<see cref="ReleaseReasons"/>).</summary>
public enum ReleaseReason
{
    Expired = 1,
    Cancelled = 2,
    Failed = 3,
    Abandoned = 4,
}

/// <summary>A release reason as the database stores it (EXPIRED, CANCELLED, ...), the text venue-service uses too.</summary>
public static class ReleaseReasons
{
    public static string ToText(this ReleaseReason reason) => reason.ToString().ToUpperInvariant();

    public static ReleaseReason Parse(string text) => Enum.Parse<ReleaseReason>(text, ignoreCase: true);
}

public sealed record ReserveQuotaCommand(Guid TicketId, Guid ReservationId, string UserId, int Qty, DateTimeOffset ExpiresAt);

/// <summary>A granted hold: what the first answer said, replayed on every retry.</summary>
public sealed record QuotaHold(Guid ReservationId, int Remaining, long UnitPriceMinor, string Currency, DateTimeOffset ExpiresAt);

public sealed record FinalizeCommand(Guid ReservationId, Guid OrderId);

public sealed record FinalizedReservation(Guid ReservationId, Guid OrderId, int Qty);

public sealed record ReturnedReservation(Guid ReservationId, Guid OrderId, int Qty);

/// <param name="SoldTo">The order a finalized reservation may be given back for; null releases holds only.</param>
public sealed record ReleaseCommand(Guid ReservationId, ReleaseReason Reason, Guid? SoldTo);

/// <summary>Qty 0: the reservation_id held nothing (see <see cref="ReservationLedger.ReleaseAsync"/>).</summary>
public sealed record ReleasedReservation(Guid ReservationId, int Qty, ReleaseReason Reason);

/// <summary>One request's answer from a batch, or the error to answer it with.</summary>
public sealed record LedgerOutcome<TAnswer>(TAnswer? Answer, RpcException? Error = null)
    where TAnswer : class
{
    public LedgerOutcome(RpcException error) : this(null, error)
    {
    }
}

public sealed class ReservationOptions
{
    public const string Section = "Reservations";

    /// <summary>How long after expires_at a hold nobody released is reclaimed (ABANDONED).</summary>
    public TimeSpan AbandonedHoldGrace { get; set; } = TimeSpan.FromMinutes(2);

    public TimeSpan ReclaimInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long the release of an unknown reservation_id keeps refusing a late reserve under it: a day
    /// past any request still in flight plus a day-long hold; then it is forgotten, keeping the table bounded.
    /// </summary>
    public TimeSpan TombstoneRetention { get; set; } = TimeSpan.FromHours(48);
}
