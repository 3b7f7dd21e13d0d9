namespace TicketSaga.Gateway.OpenApi;

// The request and answer shapes of the endpoints the gateway proxies to order-service and
// payment-service, for the public OpenAPI document only (the services own the real types).
// Money in minor units plus ISO 4217 currency; times in UTC.

/// <param name="SeatIds">Seats chosen from GET /events/{id}/seats; omit to get the best available seats.</param>
/// <param name="Section">For a seated ticket type without seat_ids: the section to assign seats in.</param>
public sealed record CreateOrderRequest(Guid TicketId, int Qty, IReadOnlyList<Guid>? SeatIds, string? Section);

public sealed record OrderSeat(Guid SeatId, string Label);

/// <param name="Status">PENDING, CONFIRMED, EXPIRED or CANCELLED.</param>
/// <param name="ExpiresAt">The hold ends then unless the order is paid.</param>
/// <param name="Amount">Total in minor units of <paramref name="Currency"/>, at the price locked when the hold was taken.</param>
public sealed record Order(Guid OrderId, string Status, DateTimeOffset ExpiresAt, IReadOnlyList<OrderSeat> Seats, long Amount, string Currency);

/// <param name="PaymentMethod">A Stripe payment method id, e.g. pm_card_visa.</param>
public sealed record ConfirmPaymentRequest(Guid OrderId, string PaymentMethod);

/// <param name="Status">succeeded, requires_action or failed.</param>
/// <param name="ClientSecret">When requires_action: what the client needs to finish the payment (Stripe.js).</param>
/// <param name="NextAction">When requires_action: Stripe's next_action type.</param>
public sealed record PaymentConfirmation(Guid OrderId, string Status, string? ClientSecret, string? NextAction);
