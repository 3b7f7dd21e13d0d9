using Grpc.Core;
using Microsoft.Extensions.Options;
using TicketSaga.Venue.V1;
using static TicketSaga.VenueService.RequestValidation;

namespace TicketSaga.VenueService;

/// <summary>The Venues gRPC contract: requests are checked here, then handed to the stores.</summary>
public sealed class VenuesGrpcService(
    SeatPlanStore plans, SeatReservationStore reservations, TimeProvider clock, IOptions<VenueOptions> options) : Venues.VenuesBase
{
    private VenueOptions Options => options.Value;

    public override Task<SeatPlan> CreateSeatPlan(CreateSeatPlanRequest request, ServerCallContext context)
    {
        var planId = string.IsNullOrEmpty(request.PlanId) ? Guid.CreateVersion7() : RequireUuid(request.PlanId, "plan_id");
        var eventId = RequireText(request.EventId, "event_id");
        var name = RequireText(request.Name, "name");
        RequireLayout(request.Sections);
        return plans.CreateSeatPlanAsync(planId, eventId, name, request.Sections, context.CancellationToken);
    }

    public override Task<SeatMap> GetSeatMap(GetSeatMapRequest request, ServerCallContext context) =>
        plans.GetSeatMapAsync(
            RequireUuid(request.PlanId, "plan_id"),
            string.IsNullOrEmpty(request.Section) ? null : request.Section,
            context.CancellationToken);

    public override Task<SeatReservation> ReserveHeldSeats(ReserveHeldSeatsRequest request, ServerCallContext context)
    {
        var planId = RequireUuid(request.PlanId, "plan_id");
        var reservationId = RequireUuid(request.ReservationId, "reservation_id");
        var seatIds = RequireSeatIds(request.SeatIds, Options.MaxSeatsPerReservation);
        var expiresAt = RequireExpiry(request.ExpiresAt, clock.GetUtcNow(), Options.MaxHoldDuration);
        var section = string.IsNullOrEmpty(request.Section) ? null : request.Section;
        return reservations.ReserveHeldSeatsAsync(planId, reservationId, seatIds, section, expiresAt, context.CancellationToken);
    }

    public override Task<SeatReservation> AutoAssignAndReserve(AutoAssignAndReserveRequest request, ServerCallContext context)
    {
        var planId = RequireUuid(request.PlanId, "plan_id");
        var reservationId = RequireUuid(request.ReservationId, "reservation_id");
        var section = RequireText(request.Section, "section");
        var quantity = RequireQuantity(request.Qty, Options.MaxSeatsPerReservation);
        var expiresAt = RequireExpiry(request.ExpiresAt, clock.GetUtcNow(), Options.MaxHoldDuration);
        return reservations.AutoAssignAndReserveAsync(planId, reservationId, section, quantity, expiresAt, context.CancellationToken);
    }

    public override Task<SeatReservation> FinalizeSeatReservation(FinalizeSeatReservationRequest request, ServerCallContext context) =>
        reservations.FinalizeSeatReservationAsync(
            RequireUuid(request.ReservationId, "reservation_id"),
            RequireUuid(request.OrderId, "order_id"),
            context.CancellationToken);

    public override Task<SeatReservation> ReleaseSeatReservation(ReleaseSeatReservationRequest request, ServerCallContext context) =>
        reservations.ReleaseSeatReservationAsync(
            RequireUuid(request.ReservationId, "reservation_id"),
            RequireClientReleaseReason(request.Reason),
            string.IsNullOrEmpty(request.OrderId) ? null : RequireUuid(request.OrderId, "order_id"),
            context.CancellationToken);
}
