namespace TicketSaga.VenueService;

/// <summary>Stored as HELD, SOLD, RELEASED or RETURNED (the status column; ticket-service uses the same words).</summary>
public enum SeatReservationStatus
{
    Held,
    Sold,
    Released,

    /// <summary>Sold, then given back after the order's payment was refunded; it still names the order.</summary>
    Returned,
}

public static class SeatReservationStatuses
{
    public static string ToText(this SeatReservationStatus status) => status.ToString().ToUpperInvariant();

    public static SeatReservationStatus Parse(string text) => Enum.Parse<SeatReservationStatus>(text, ignoreCase: true);
}

public sealed record ReservedSeat(Guid SeatId, string Section, string Row, int Number, string Label);

/// <summary>
/// A seat reservation as stored: what was asked (plan, section for an auto-assignment, quantity, expiry),
/// where it stands and every seat it ever held. PlanId and ExpiresAt are null only for the release of a
/// reservation_id that held nothing.
/// </summary>
public sealed record SeatReservationRecord(
    Guid ReservationId, Guid? PlanId, string? Section, int Quantity, SeatReservationStatus Status, DateTime? ExpiresAt, Guid? OrderId,
    string? ReleaseReason, IReadOnlyList<ReservedSeat> Seats)
{
    public static SeatReservationRecord NothingHeld(Guid reservationId, string reason) =>
        new(reservationId, null, null, 0, SeatReservationStatus.Released, null, null, reason, []);

    public List<string> DifferencesFrom(Guid planId, string? section, int quantity, DateTime expiresAt)
    {
        var differences = new List<string>();
        if (PlanId != planId)
        {
            differences.Add("plan_id");
        }

        if ((Section is null) != (section is null))
        {
            differences.Add("kind of request (named seats or auto-assigned)");
        }
        else if (Section != section)
        {
            differences.Add("section");
        }

        if (section is not null && Quantity != quantity)
        {
            differences.Add("qty");
        }

        if (ExpiresAt != expiresAt)
        {
            differences.Add("expires_at");
        }

        return differences;
    }

    /// <summary>A retry gets the reservation as it stands; the same id with other arguments is refused.</summary>
    public SeatReservationRecord AnswerRetry(List<string> differences) => differences.Count == 0
        ? this
        : throw VenueErrors.AlreadyExists(
            $"seat reservation {ReservationId} already exists with a different {string.Join(", ", differences)}");
}
