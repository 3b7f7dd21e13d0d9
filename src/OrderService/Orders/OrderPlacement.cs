using System.Security.Cryptography;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TicketSaga.Contracts;
using TicketSaga.PublicApi;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Orders;

public sealed record PlaceOrder(string UserId, Guid TicketId, int Qty, IReadOnlyList<Guid> SeatIds, string? Section, string? IdempotencyKey = null);

/// <summary>What POST /orders answers: the order, and whether an earlier request with its Idempotency-Key placed it.</summary>
public sealed record PlacedOrder(Order Order, bool Replayed);

/// <summary>
/// Phase 1: ReserveQuota, then (seated types only) ReserveHeldSeats or AutoAssignAndReserve, then one
/// transaction for the order and its orders.order.created. A failure after a partial reserve releases
/// what was reserved (reason FAILED) before the caller answers.
/// With an Idempotency-Key, (user, key) decides: the order it placed is answered again, an attempt
/// still placing it is answered 409 (retry shortly), another request under the key is 422. A refused
/// attempt releases its holds, then gives its key back, so a retry with it is a new attempt; should a
/// release fail, the key keeps that hold for the retry to release before it holds anew.
/// </summary>
internal sealed partial class OrderPlacement(
    Tickets.TicketsClient tickets, Venues.VenuesClient venues, OrderStore orders, OrderIdempotencyKeys keys, TimeProvider clock,
    IOptions<OrderOptions> options, ILogger<OrderPlacement> logger)
{
    public async Task<PlacedOrder> PlaceAsync(PlaceOrder request, CancellationToken cancellationToken)
    {
        Validate(request);
        var fresh = PlacementIds.New(clock.GetUtcNow(), options.Value.HoldDuration);
        if (request.IdempotencyKey is not { } key)
        {
            return new PlacedOrder(await PlaceUnderAsync(new Attempt(request, fresh, KeyOwner: null), cancellationToken), Replayed: false);
        }

        KeyClaim claim;
        try
        {
            claim = await keys.ClaimAsync(request.UserId, key, RequestHash(request), fresh, cancellationToken);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            LogKeyNotClaimed(logger, ex, key, request.UserId);
            throw new OrderProblemException(OrderProblem.Unavailable("The Idempotency-Key could not be checked; nothing was reserved."));
        }

        switch (claim)
        {
            case KeyClaim.Owned owned:
                // Not reclaimed yet, the hold would count against max_per_user beside the new one: it goes first.
                if (owned.Abandoned is { } abandoned && !await ReleaseAsync(abandoned, quotaHeld: true, seatsHeld: true))
                {
                    await ChangeKeyAsync(request, () => keys.LeaveReleaseToRetryAsync(request.UserId, key, owned.Attempt, abandoned, CancellationToken.None));
                    throw new OrderProblemException(OrderProblem.Unavailable("An earlier attempt's hold could not be released yet; nothing was reserved."));
                }

                return new PlacedOrder(await PlaceUnderAsync(new Attempt(request, owned.Ids, owned.Attempt), cancellationToken), Replayed: false);
            case KeyClaim.Placed placed:
                var order = await orders.GetAsync(placed.OrderId, cancellationToken)
                    ?? throw new InvalidOperationException($"Order {placed.OrderId} of an Idempotency-Key does not exist.");
                // The first answer again, i.e. the order as placed; GET /orders/{id} says where it stands now.
                return new PlacedOrder(order with { Status = OrderStatuses.Pending, CancellationReason = null }, Replayed: true);
            case KeyClaim.InProgress:
                throw new OrderProblemException(OrderProblem.PlacementInProgress());
            default:
                throw new OrderProblemException(OrderProblem.IdempotencyKeyReused());
        }
    }

    private async Task<Order> PlaceUnderAsync(Attempt attempt, CancellationToken cancellationToken)
    {
        var (request, ids) = (attempt.Request, attempt.Ids);
        ReserveQuotaResponse quota;
        try
        {
            // One id for the quota hold and the seat hold: both services are idempotent by it (and by
            // expires_at), so a retry under the ids of an attempt that stopped gets that attempt's holds.
            quota = await tickets.ReserveQuotaAsync(new ReserveQuotaRequest
            {
                TicketId = request.TicketId.ToString(),
                ReservationId = ids.ReservationId.ToString(),
                UserId = request.UserId,
                Qty = request.Qty,
                ExpiresAt = Timestamp.FromDateTimeOffset(ids.ExpiresAt),
            }, cancellationToken: cancellationToken);
        }
        catch (RpcException ex)
        {
            await AbandonAsync(attempt, quotaHeld: OrderProblem.MayHaveReserved(ex), seatsHeld: false);
            throw new OrderProblemException(OrderProblem.FromTicketService(ex));
        }

        var seats = await ReserveSeatsAsync(attempt, quota, cancellationToken);
        var order = new Order(
            ids.OrderId, request.UserId, request.TicketId, ids.ReservationId, request.Qty,
            quota.SeatPlanId.Length == 0 ? null : Guid.Parse(quota.SeatPlanId), seats,
            checked(quota.UnitPrice.AmountMinor * request.Qty), quota.UnitPrice.Currency,
            OrderStatuses.Pending, null, ids.ExpiresAt, ids.CreatedAt);
        try
        {
            // Should the process die between the holds above and this commit, nothing here knows of them:
            // ticket-service and venue-service reclaim holds nobody finalized or released after
            // expires_at + their grace period (that is their job), so stock comes back on its own.
            // Not the request's token: the holds are taken, so a client that went away must not leave them orphaned.
            // An attempt that took this one's key over places the very same order (same ids, same holds): stored once.
            await orders.CreateAsync(order, CancellationToken.None);
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            // The connection may have failed after the commit, with only its answer lost: an order that is
            // stored stands, with its holds (released, they would leave a live order that cannot be sold).
            if (await IsStoredAsync(order.OrderId))
            {
                LogCommitAnswerLost(logger, ex, order.OrderId);
                return order;
            }

            LogOrderNotStored(logger, ex, order.OrderId);
            await AbandonAsync(attempt, quotaHeld: true, seatsHeld: seats.Count > 0);
            throw new OrderProblemException(OrderProblem.Unavailable("The order could not be stored; nothing was reserved."));
        }

        return order;
    }

    /// <summary>Whether the order is in the database; false when that cannot be read either.</summary>
    private async Task<bool> IsStoredAsync(Guid orderId)
    {
        try
        {
            return await orders.GetAsync(orderId, CancellationToken.None) is not null;
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            return false;
        }
    }

    private static void Validate(PlaceOrder request)
    {
        if (request.Qty is < 1 or > PlaceOrderRequest.MaxQty)
        {
            throw new OrderProblemException(OrderProblem.Invalid($"qty must be between 1 and {PlaceOrderRequest.MaxQty}."));
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

    private async Task<IReadOnlyList<OrderSeat>> ReserveSeatsAsync(Attempt attempt, ReserveQuotaResponse quota, CancellationToken cancellationToken)
    {
        var (request, reservationId, expiresAt) = (attempt.Request, attempt.Ids.ReservationId, attempt.Ids.ExpiresAt);
        if (quota.SeatPlanId.Length == 0)
        {
            if (request.SeatIds.Count > 0 || request.Section is not null)
            {
                await AbandonAsync(attempt, quotaHeld: true, seatsHeld: false);
                throw new OrderProblemException(OrderProblem.Invalid("This ticket type is general admission: it has no seats or sections to choose."));
            }

            return [];
        }

        // A ticket type is priced per section: seats of another section cannot be sold at its price.
        if (request.Section is not null && request.Section != quota.Section)
        {
            await AbandonAsync(attempt, quotaHeld: true, seatsHeld: false);
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
            await AbandonAsync(attempt, quotaHeld: true, seatsHeld: OrderProblem.MayHaveReserved(ex));
            throw new OrderProblemException(OrderProblem.FromVenueService(ex));
        }
    }

    /// <summary>
    /// What a refused attempt leaves behind: its holds released, then its key given back. Should a release
    /// fail, the key keeps the hold for the client's retry, which releases it before holding anew.
    /// </summary>
    private async Task AbandonAsync(Attempt attempt, bool quotaHeld, bool seatsHeld)
    {
        var (request, reservationId) = (attempt.Request, attempt.Ids.ReservationId);
        if (attempt.KeyOwner is not { } owner)
        {
            await ReleaseAsync(reservationId, quotaHeld, seatsHeld);
            return;
        }

        // Should the key be another attempt's by now (it took over), the holds are that attempt's to use: they stay.
        if (!await ChangeKeyAsync(request, () => keys.BeginReleaseAsync(request.UserId, request.IdempotencyKey!, owner, CancellationToken.None)))
        {
            return;
        }

        var released = await ReleaseAsync(reservationId, quotaHeld, seatsHeld);
        await ChangeKeyAsync(request, () => released
            ? keys.GiveBackAsync(request.UserId, request.IdempotencyKey!, owner, CancellationToken.None)
            : keys.LeaveReleaseToRetryAsync(request.UserId, request.IdempotencyKey!, owner, reservationId, CancellationToken.None));
    }

    /// <summary>False when the key is not (or could not be seen to be) this attempt's any more.</summary>
    private async Task<bool> ChangeKeyAsync(PlaceOrder request, Func<Task<bool>> change)
    {
        try
        {
            return await change();
        }
        catch (Exception ex) when (ex is Npgsql.NpgsqlException or TimeoutException)
        {
            // The key stays locked as it was, so do the holds: a retry after PlacementLock takes it over and
            // places under them, or (once given up) releases them first; or they are reclaimed.
            LogKeyNotChanged(logger, ex, request.IdempotencyKey!, request.UserId);
            return false;
        }
    }

    /// <summary>What makes a retry "the same request": the order asked for, however its JSON was written.</summary>
    private static byte[] RequestHash(PlaceOrder request) => SHA256.HashData(Encoding.UTF8.GetBytes(
        $"{request.TicketId}\n{request.Qty}\n{string.Join(',', request.SeatIds)}\n{request.Section}"));

    /// <summary>True when every hold asked for is released (both are tried: stock comes back sooner).</summary>
    private async Task<bool> ReleaseAsync(Guid reservationId, bool quotaHeld, bool seatsHeld) =>
        (!seatsHeld || await ReleaseSeatsAsync(reservationId)) & (!quotaHeld || await ReleaseQuotaAsync(reservationId));

    // Compensation runs even when the caller went away (no request token): a leaked hold costs stock.
    // Should it fail too, the services reclaim the hold after expires_at + grace.
    private async Task<bool> ReleaseQuotaAsync(Guid reservationId)
    {
        try
        {
            await tickets.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = reservationId.ToString(), Reason = ReleaseReason.Failed });
            return true;
        }
        catch (RpcException ex)
        {
            LogQuotaHoldNotReleased(logger, ex, reservationId);
            return false;
        }
    }

    private async Task<bool> ReleaseSeatsAsync(Guid reservationId)
    {
        try
        {
            await venues.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = reservationId.ToString(), Reason = SeatReleaseReason.Failed });
            return true;
        }
        catch (RpcException ex)
        {
            LogSeatHoldNotReleased(logger, ex, reservationId);
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Idempotency-Key {Key} of {UserId} could not be checked")]
    private static partial void LogKeyNotClaimed(ILogger logger, Exception exception, string key, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Idempotency-Key {Key} of {UserId} could not be updated; it stays locked, and its holds stay until a retry takes the key over or they are reclaimed")]
    private static partial void LogKeyNotChanged(ILogger logger, Exception exception, string key, string userId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Order {OrderId} was stored although its commit failed on the way back; it stands")]
    private static partial void LogCommitAnswerLost(ILogger logger, Exception exception, Guid orderId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Order {OrderId} could not be stored; releasing its holds")]
    private static partial void LogOrderNotStored(ILogger logger, Exception exception, Guid orderId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quota hold {ReservationId} could not be released; ticket-service reclaims it after it expires, unless a retry with its Idempotency-Key releases it first")]
    private static partial void LogQuotaHoldNotReleased(ILogger logger, Exception exception, Guid reservationId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Seat hold {ReservationId} could not be released; venue-service reclaims it after it expires, unless a retry with its Idempotency-Key releases it first")]
    private static partial void LogSeatHoldNotReleased(ILogger logger, Exception exception, Guid reservationId);

    /// <summary>One try at placing an order: the ids it places it under and, with an Idempotency-Key, its claim on the key.</summary>
    private sealed record Attempt(PlaceOrder Request, PlacementIds Ids, Guid? KeyOwner);
}
