using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Orders;

public sealed record PlaceOrder(string UserId, Guid TicketId, int Qty, IReadOnlyList<Guid> SeatIds, string? Section);

/// <summary>
/// Phase 1: ReserveQuota, then (seated types only) ReserveHeldSeats or AutoAssignAndReserve, then one
/// transaction for the order and its orders.order.created. A failure after a partial reserve releases
/// what was reserved (reason FAILED) before the caller answers.
/// </summary>
internal sealed partial class OrderPlacement(
    Tickets.TicketsClient tickets, Venues.VenuesClient venues, OrderStore orders, TimeProvider clock,
    IOptions<OrderOptions> options, ILogger<OrderPlacement> logger)
{
    public const int MaxQty = 100;

    public async Task<Order> PlaceAsync(PlaceOrder request, CancellationToken cancellationToken)
    {
        Validate(request);
        var now = clock.GetUtcNow();
        var orderId = Guid.CreateVersion7();
        // One id for the quota hold and the seat hold: both services are idempotent by it.
        var reservationId = Guid.CreateVersion7();
        var expiresAt = PostgresTime.TruncateToMicroseconds(now + options.Value.HoldDuration);

        ReserveQuotaResponse quota;
        try
        {
            quota = await tickets.ReserveQuotaAsync(new ReserveQuotaRequest
            {
                TicketId = request.TicketId.ToString(),
                ReservationId = reservationId.ToString(),
                UserId = request.UserId,
                Qty = request.Qty,
                ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt),
            }, cancellationToken: cancellationToken);
        }
        catch (RpcException ex)
        {
            if (OrderProblem.MayHaveReserved(ex))
            {
                await ReleaseQuotaAsync(reservationId);
            }

            throw new OrderProblemException(OrderProblem.FromTicketService(ex));
        }

        var seats = await ReserveSeatsAsync(request, reservationId, quota, expiresAt, cancellationToken);
        var order = new Order(
            orderId, request.UserId, request.TicketId, reservationId, request.Qty,
            quota.SeatPlanId.Length == 0 ? null : Guid.Parse(quota.SeatPlanId), seats,
            checked(quota.UnitPrice.AmountMinor * request.Qty), quota.UnitPrice.Currency,
            OrderStatuses.Pending, null, expiresAt, now);
        try
        {
            // Should the process die between the holds above and this commit, nothing here knows of them:
            // ticket-service and venue-service reclaim holds nobody finalized or released after
            // expires_at + their grace period (that is their job), so stock comes back on its own.
            // Not the request's token: the holds are taken, so a client that went away must not leave them orphaned.
            await orders.CreateAsync(order, CancellationToken.None);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            LogOrderNotStored(logger, ex, orderId);
            await ReleaseAsync(reservationId, seated: seats.Count > 0);
            throw new OrderProblemException(OrderProblem.Unavailable("The order could not be stored; nothing was reserved."));
        }

        return order;
    }

    private static void Validate(PlaceOrder request)
    {
        if (request.Qty is < 1 or > MaxQty)
        {
            throw new OrderProblemException(OrderProblem.Invalid($"qty must be between 1 and {MaxQty}."));
        }

        if (request.SeatIds.Count > 0 && request.SeatIds.Count != request.Qty)
        {
            throw new OrderProblemException(OrderProblem.Invalid($"seat_ids names {request.SeatIds.Count} seats for qty {request.Qty}; name one seat per ticket."));
        }

        if (request.SeatIds.Distinct().Count() != request.SeatIds.Count)
        {
            throw new OrderProblemException(OrderProblem.Invalid("seat_ids names a seat more than once."));
        }
    }

    private async Task<IReadOnlyList<OrderSeat>> ReserveSeatsAsync(
        PlaceOrder request, Guid reservationId, ReserveQuotaResponse quota, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        if (quota.SeatPlanId.Length == 0)
        {
            if (request.SeatIds.Count > 0 || request.Section is not null)
            {
                await ReleaseQuotaAsync(reservationId);
                throw new OrderProblemException(OrderProblem.Invalid("This ticket type is general admission: it has no seats or sections to choose."));
            }

            return [];
        }

        // A ticket type is priced per section: seats of another section cannot be sold at its price.
        if (request.Section is not null && request.Section != quota.Section)
        {
            await ReleaseQuotaAsync(reservationId);
            throw new OrderProblemException(OrderProblem.Invalid($"This ticket type sells section '{quota.Section}', not '{request.Section}'."));
        }

        try
        {
            var reservation = request.SeatIds.Count > 0
                ? await venues.ReserveHeldSeatsAsync(new ReserveHeldSeatsRequest
                {
                    PlanId = quota.SeatPlanId,
                    ReservationId = reservationId.ToString(),
                    SeatIds = { request.SeatIds.Select(id => id.ToString()) },
                    Section = quota.Section,
                    ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt),
                }, cancellationToken: cancellationToken)
                : await venues.AutoAssignAndReserveAsync(new AutoAssignAndReserveRequest
                {
                    PlanId = quota.SeatPlanId,
                    ReservationId = reservationId.ToString(),
                    Section = quota.Section,
                    Qty = request.Qty,
                    ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt),
                }, cancellationToken: cancellationToken);
            return [.. reservation.Seats.Select(s => new OrderSeat(Guid.Parse(s.SeatId), s.Label))];
        }
        catch (RpcException ex)
        {
            await ReleaseAsync(reservationId, seated: OrderProblem.MayHaveReserved(ex));
            throw new OrderProblemException(OrderProblem.FromVenueService(ex));
        }
    }

    private async Task ReleaseAsync(Guid reservationId, bool seated)
    {
        if (seated)
        {
            await ReleaseSeatsAsync(reservationId);
        }

        await ReleaseQuotaAsync(reservationId);
    }

    // Compensation runs even when the caller went away (no request token): a leaked hold costs stock.
    // Should it fail too, the services reclaim the hold after expires_at + grace.
    private async Task ReleaseQuotaAsync(Guid reservationId)
    {
        try
        {
            await tickets.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = reservationId.ToString(), Reason = ReleaseReason.Failed });
        }
        catch (RpcException ex)
        {
            LogQuotaHoldNotReleased(logger, ex, reservationId);
        }
    }

    private async Task ReleaseSeatsAsync(Guid reservationId)
    {
        try
        {
            await venues.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = reservationId.ToString(), Reason = SeatReleaseReason.Failed });
        }
        catch (RpcException ex)
        {
            LogSeatHoldNotReleased(logger, ex, reservationId);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Order {OrderId} could not be stored; releasing its holds")]
    private static partial void LogOrderNotStored(ILogger logger, Exception exception, Guid orderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quota hold {ReservationId} could not be released; ticket-service reclaims it after it expires")]
    private static partial void LogQuotaHoldNotReleased(ILogger logger, Exception exception, Guid reservationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Seat hold {ReservationId} could not be released; venue-service reclaims it after it expires")]
    private static partial void LogSeatHoldNotReleased(ILogger logger, Exception exception, Guid reservationId);
}
