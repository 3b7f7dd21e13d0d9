using System.ComponentModel.DataAnnotations;
using TicketSaga.Contracts;

namespace TicketSaga.PublicApi;

// The public order API of order-service, as the service answers and the gateway documents it.
// Money in minor units plus ISO 4217 currency; times in UTC; JSON in snake_case.

/// <param name="TicketId">The ticket type, from GET /events.</param>
/// <param name="Qty">Tickets in the order, at most <see cref="PlaceOrderRequest.MaxQty"/> (and the ticket type's max_per_user).</param>
/// <param name="SeatIds">Seats chosen from GET /events/{id}/seats, one per ticket (exactly qty, each once); omit to get the best available seats.</param>
/// <param name="Section">For a seated ticket type without seat_ids: the section to assign seats in.</param>
public sealed record PlaceOrderRequest(
    [property: Uuid] string TicketId,
    [property: Range(1, PlaceOrderRequest.MaxQty)] int Qty,
    [property: Uuid, MaxLength(PlaceOrderRequest.MaxQty)] IReadOnlyList<string>? SeatIds = null,
    string? Section = null)
{
    public const int MaxQty = 100;
}

public sealed record ReservedSeat(Guid SeatId, string Label);

/// <param name="Status">PENDING until paid or ended; CONFIRMED (sold), EXPIRED, CANCELLED, or REFUNDED (sold, then the
/// payment was refunded and the tickets and seats went back on sale).</param>
/// <param name="ExpiresAt">The hold ends then unless the order is paid.</param>
/// <param name="Amount">Total in minor units of <paramref name="Currency"/>, at the price locked when the hold was taken.</param>
/// <param name="CancellationReason">Why an EXPIRED or CANCELLED order ended.</param>
public sealed record OrderResponse(
    Guid OrderId,
    [property: AllowedValues(OrderStatuses.Pending, OrderStatuses.Confirmed, OrderStatuses.Expired, OrderStatuses.Cancelled, OrderStatuses.Refunded)]
    string Status,
    Guid TicketId,
    int Qty,
    DateTimeOffset ExpiresAt,
    IReadOnlyList<ReservedSeat> Seats,
    long Amount,
    string Currency,
    [property: AllowedValues(null, CancellationReasons.Expired, CancellationReasons.CancelledByCustomer, CancellationReasons.PaymentAfterEnd)]
    string? CancellationReason,
    DateTimeOffset CreatedAt);

/// <summary>GET /orders: the caller's orders, newest first.</summary>
/// <param name="NextBefore">Pass as <c>before</c> for the next (older) page; null on the last page.</param>
public sealed record OrderPage(IReadOnlyList<OrderResponse> Orders, Guid? NextBefore)
{
    /// <summary>Orders per page when the request does not say (its <c>limit</c>).</summary>
    public const int DefaultLimit = 20;

    public const int MaxLimit = 100;
}

/// <summary>GET /orders/{id}/timeline: what happened to the order, oldest first, as order-service recorded it.</summary>
public sealed record OrderTimeline(
    Guid OrderId,
    [property: AllowedValues(OrderStatuses.Pending, OrderStatuses.Confirmed, OrderStatuses.Expired, OrderStatuses.Cancelled, OrderStatuses.Refunded)]
    string Status,
    IReadOnlyList<TimelineEntry> Entries);

/// <param name="Step">created; held (the hold until expires_at); payment_attempt (a try at paying that captured nothing:
/// declined with its reason, 3D Secure asked, refused, or not answered yet); payment_captured; confirmed (sold); expired or cancelled
/// (the hold released: the saga compensated); payment_after_end (money that came too late, refunded by payment-service);
/// refunded (the sale undone, stock back on sale).</param>
/// <param name="At">When the service recorded the step.</param>
/// <param name="Detail">The step in words.</param>
public sealed record TimelineEntry(
    [property: AllowedValues(TimelineSteps.Created, TimelineSteps.Held, TimelineSteps.PaymentAttempt, TimelineSteps.PaymentCaptured, TimelineSteps.Confirmed,
        TimelineSteps.Expired, TimelineSteps.Cancelled, TimelineSteps.PaymentAfterEnd, TimelineSteps.Refunded)]
    string Step,
    DateTimeOffset At,
    string Detail);

public static class TimelineSteps
{
    public const string Created = "created";
    public const string Held = "held";
    public const string PaymentAttempt = "payment_attempt";
    public const string PaymentCaptured = "payment_captured";
    public const string Confirmed = "confirmed";
    public const string Expired = "expired";
    public const string Cancelled = "cancelled";
    public const string PaymentAfterEnd = "payment_after_end";
    public const string Refunded = "refunded";
}
