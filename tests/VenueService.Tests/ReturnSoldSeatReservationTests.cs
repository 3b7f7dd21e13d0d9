using Grpc.Core;
using TicketSaga.Venue.V1;

namespace TicketSaga.VenueService.Tests;

/// <summary>Issue 13 (refunds): the seats of a sale whose payment was refunded go back on sale, once.</summary>
public sealed class ReturnSoldSeatReservationTests(VenueServiceFixture fixture) : IClassFixture<VenueServiceFixture>
{
    private VenueServiceHost Venue => fixture.Host;

    private Venues.VenuesClient Client => Venue.Client;

    private AsyncUnaryCall<SeatReservation> Return(string reservationId, string orderId) =>
        Client.ReturnSoldSeatReservationAsync(new ReturnSoldSeatReservationRequest { ReservationId = reservationId, OrderId = orderId });

    private async Task<(SeatReservation Reservation, string OrderId)> SellAsync(SeatPlan plan, int qty)
    {
        var hold = await Client.AutoAssignAndReserveAsync(new AutoAssignAndReserveRequest
        {
            PlanId = plan.PlanId, ReservationId = Guid.CreateVersion7().ToString(), Section = "Floor", Qty = qty, ExpiresAt = VenueServiceHost.InMinutes(15),
        });
        var orderId = Guid.CreateVersion7().ToString();
        var sold = await Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = hold.ReservationId, OrderId = orderId });
        return (sold, orderId);
    }

    [Fact]
    public async Task Return_puts_the_sold_seats_back_on_sale_and_a_retry_answers_the_same_and_changes_nothing()
    {
        var plan = await Venue.CreatePlanAsync(4, 4);
        var (sold, orderId) = await SellAsync(plan, 3);
        var other = await SellAsync(plan, 2);

        var first = await Return(sold.ReservationId, orderId);
        var snapshot = await Venue.SnapshotAsync();
        var retry = await Return(sold.ReservationId, orderId);

        Assert.Equal(SeatReservationState.Returned, first.State);
        Assert.Equal(sold.Seats.Select(s => s.SeatId), first.Seats.Select(s => s.SeatId));
        Assert.All(first.Seats, s => Assert.Equal(SeatStatus.Available, s.Status));
        Assert.Equal(first, retry);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
        var map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((6, 0, 2), (map.Available, map.Held, map.Sold));
        Assert.Equal(plan.Capacity, map.Available + map.Held + map.Sold);
        Assert.All(map.Seats.Where(s => other.Reservation.Seats.Any(o => o.SeatId == s.SeatId)), s => Assert.Equal(SeatStatus.Sold, s.Status));
        // The returned seats are for sale again: a new buyer can hold them.
        var again = await Client.ReserveHeldSeatsAsync(new ReserveHeldSeatsRequest
        {
            PlanId = plan.PlanId, ReservationId = Guid.CreateVersion7().ToString(), SeatIds = { sold.Seats.Select(s => s.SeatId) },
            ExpiresAt = VenueServiceHost.InMinutes(15),
        });
        Assert.Equal(SeatReservationState.Held, again.State);
    }

    [Fact]
    public async Task A_reservation_not_sold_to_the_order_is_refused_and_nothing_changes()
    {
        var plan = await Venue.CreatePlanAsync(4, 4);
        var held = await Client.AutoAssignAndReserveAsync(new AutoAssignAndReserveRequest
        {
            PlanId = plan.PlanId, ReservationId = Guid.CreateVersion7().ToString(), Section = "Floor", Qty = 1, ExpiresAt = VenueServiceHost.InMinutes(15),
        });
        var released = await Client.AutoAssignAndReserveAsync(new AutoAssignAndReserveRequest
        {
            PlanId = plan.PlanId, ReservationId = Guid.CreateVersion7().ToString(), Section = "Floor", Qty = 1, ExpiresAt = VenueServiceHost.InMinutes(15),
        });
        await Client.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest { ReservationId = released.ReservationId, Reason = SeatReleaseReason.Expired });
        var (sold, buyer) = await SellAsync(plan, 2);
        var snapshot = await Venue.SnapshotAsync();
        var otherOrder = Guid.CreateVersion7().ToString();

        await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Return(held.ReservationId, otherOrder));
        await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Return(released.ReservationId, otherOrder));
        var soldToAnother = await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Return(sold.ReservationId, otherOrder));
        await RpcAssert.FailsWith(StatusCode.NotFound, Return(Guid.CreateVersion7().ToString(), otherOrder));
        await RpcAssert.FailsWith(StatusCode.InvalidArgument, Return(sold.ReservationId, "not-a-uuid"));
        await RpcAssert.FailsWith(StatusCode.InvalidArgument, Return("", buyer));

        Assert.Contains(buyer, soldToAnother.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(snapshot, await Venue.SnapshotAsync());
    }

    [Fact]
    public async Task A_returned_reservation_is_neither_finalized_released_nor_returned_for_another_order()
    {
        var plan = await Venue.CreatePlanAsync(4);
        var (sold, orderId) = await SellAsync(plan, 2);
        await Return(sold.ReservationId, orderId);
        var snapshot = await Venue.SnapshotAsync();

        await RpcAssert.FailsWith(StatusCode.FailedPrecondition,
            Client.FinalizeSeatReservationAsync(new FinalizeSeatReservationRequest { ReservationId = sold.ReservationId, OrderId = orderId }));
        await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Client.ReleaseSeatReservationAsync(
            new ReleaseSeatReservationRequest { ReservationId = sold.ReservationId, Reason = SeatReleaseReason.Expired, OrderId = orderId }));
        await RpcAssert.FailsWith(StatusCode.FailedPrecondition, Return(sold.ReservationId, Guid.CreateVersion7().ToString()));

        Assert.Equal(snapshot, await Venue.SnapshotAsync());
        var map = await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId });
        Assert.Equal((4, 0, 0), (map.Available, map.Held, map.Sold));
    }
}
