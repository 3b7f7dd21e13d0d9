using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using TicketSaga.Venue.V1;
using static TicketSaga.VenueService.RequestValidation;

namespace TicketSaga.VenueService;

/// <summary>The Venues gRPC contract: requests are checked here, handed to the stores, and their records mapped to messages.</summary>
public sealed class VenuesGrpcService(
    SeatPlanStore plans, SeatHoldStore holds, SeatHoldOutcomeStore outcomes, TimeProvider clock, IOptions<VenueOptions> options)
    : Venues.VenuesBase
{
    private VenueOptions Options => options.Value;

    public override async Task<SeatPlan> CreateSeatPlan(CreateSeatPlanRequest request, ServerCallContext context)
    {
        var planId = string.IsNullOrEmpty(request.PlanId) ? Guid.CreateVersion7() : RequireUuid(request.PlanId, "plan_id");
        var eventId = RequireText(request.EventId, "event_id");
        var name = RequireText(request.Name, "name");
        RequireLayout(request.Sections);
        var sections = request.Sections.Select(s => new SectionPlan(s.Name, [.. s.Rows.Select(r => new RowPlan(r.Label, r.Seats))])).ToList();
        var plan = await plans.CreateSeatPlanAsync(planId, eventId, name, sections, context.CancellationToken);
        return new SeatPlan
        {
            PlanId = plan.PlanId.ToString(),
            EventId = plan.EventId,
            Name = plan.Name,
            Sections = { plan.Sections },
            Capacity = plan.Capacity,
        };
    }

    public override async Task<SeatMap> GetSeatMap(GetSeatMapRequest request, ServerCallContext context)
    {
        var planId = RequireUuid(request.PlanId, "plan_id");
        var seats = await plans.GetSeatMapAsync(planId, string.IsNullOrEmpty(request.Section) ? null : request.Section, context.CancellationToken);
        var map = new SeatMap
        {
            PlanId = planId.ToString(),
            Seats =
            {
                seats.Select(s => new Seat
                {
                    SeatId = s.SeatId.ToString(), Section = s.Section, Row = s.Row, Number = s.Number, Label = s.Label, Status = ToSeatStatus(s.Status),
                }),
            },
        };
        map.Available = map.Seats.Count(s => s.Status == SeatStatus.Available);
        map.Held = map.Seats.Count(s => s.Status == SeatStatus.Held);
        map.Sold = map.Seats.Count(s => s.Status == SeatStatus.Sold);
        return map;
    }

    public override async Task<SeatReservation> ReserveHeldSeats(ReserveHeldSeatsRequest request, ServerCallContext context)
    {
        var planId = RequireUuid(request.PlanId, "plan_id");
        var reservationId = RequireUuid(request.ReservationId, "reservation_id");
        var seatIds = RequireSeatIds(request.SeatIds, Options.MaxSeatsPerReservation);
        var expiresAt = RequireExpiry(request.ExpiresAt, clock.GetUtcNow(), Options.MaxHoldDuration);
        var section = string.IsNullOrEmpty(request.Section) ? null : request.Section;
        return ToMessage(await holds.ReserveHeldSeatsAsync(planId, reservationId, seatIds, section, expiresAt, context.CancellationToken));
    }

    public override async Task<SeatReservation> AutoAssignAndReserve(AutoAssignAndReserveRequest request, ServerCallContext context)
    {
        var planId = RequireUuid(request.PlanId, "plan_id");
        var reservationId = RequireUuid(request.ReservationId, "reservation_id");
        var section = RequireText(request.Section, "section");
        var quantity = RequireQuantity(request.Qty, Options.MaxSeatsPerReservation);
        var expiresAt = RequireExpiry(request.ExpiresAt, clock.GetUtcNow(), Options.MaxHoldDuration);
        return ToMessage(await holds.AutoAssignAndReserveAsync(planId, reservationId, section, quantity, expiresAt, context.CancellationToken));
    }

    public override async Task<SeatReservation> FinalizeSeatReservation(FinalizeSeatReservationRequest request, ServerCallContext context) =>
        ToMessage(await outcomes.FinalizeSeatReservationAsync(
            RequireUuid(request.ReservationId, "reservation_id"),
            RequireUuid(request.OrderId, "order_id"),
            context.CancellationToken));

    public override async Task<SeatReservation> ReleaseSeatReservation(ReleaseSeatReservationRequest request, ServerCallContext context) =>
        ToMessage(await outcomes.ReleaseSeatReservationAsync(
            RequireUuid(request.ReservationId, "reservation_id"),
            RequireClientReleaseReason(request.Reason),
            string.IsNullOrEmpty(request.OrderId) ? null : RequireUuid(request.OrderId, "order_id"),
            context.CancellationToken));

    public override async Task<SeatReservation> ReturnSoldSeatReservation(ReturnSoldSeatReservationRequest request, ServerCallContext context) =>
        ToMessage(await outcomes.ReturnSoldSeatReservationAsync(
            RequireUuid(request.ReservationId, "reservation_id"),
            RequireUuid(request.OrderId, "order_id"),
            context.CancellationToken));

    private static SeatReservation ToMessage(SeatReservationRecord reservation)
    {
        // Seats are reported as this reservation left them; the seat map has the live status.
        var (state, seatStatus) = reservation.Status switch
        {
            SeatReservationStatus.Held => (SeatReservationState.Held, SeatStatus.Held),
            SeatReservationStatus.Sold => (SeatReservationState.Sold, SeatStatus.Sold),
            SeatReservationStatus.Returned => (SeatReservationState.Returned, SeatStatus.Available),
            _ => (SeatReservationState.Released, SeatStatus.Available),
        };
        var message = new SeatReservation
        {
            ReservationId = reservation.ReservationId.ToString(),
            PlanId = reservation.PlanId?.ToString() ?? "",
            State = state,
            Seats =
            {
                reservation.Seats.Select(s => new Seat
                {
                    SeatId = s.SeatId.ToString(), Section = s.Section, Row = s.Row, Number = s.Number, Label = s.Label, Status = seatStatus,
                }),
            },
        };
        if (reservation.ExpiresAt is { } expiresAt)
        {
            message.ExpiresAt = Timestamp.FromDateTime(expiresAt);
        }

        return message;
    }

    private static SeatStatus ToSeatStatus(string status) => status switch
    {
        "AVAILABLE" => SeatStatus.Available,
        "HELD" => SeatStatus.Held,
        "SOLD" => SeatStatus.Sold,
        _ => throw new InvalidOperationException($"Unknown seat status {status}"),
    };
}
