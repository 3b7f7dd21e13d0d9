using Grpc.Core;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.TicketService.Tests;

/// <summary>Issue 13 (refunds): a sale whose payment was refunded gives its quota back to stock, once.</summary>
public sealed class ReturnSoldReservationTests(PostgresServer postgres) : IAsyncLifetime
{
    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    private Task<ReturnSoldReservationResponse> ReturnAsync(string reservationId, string orderId) =>
        _service.Client.ReturnSoldReservationAsync(new ReturnSoldReservationRequest { ReservationId = reservationId, OrderId = orderId },
            cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

    private async Task<string> SellAsync(ReserveQuotaRequest hold)
    {
        await _service.ReserveAsync(hold);
        var orderId = Guid.CreateVersion7().ToString();
        await _service.Client.FinalizeReservationAsync(new FinalizeReservationRequest { ReservationId = hold.ReservationId, OrderId = orderId },
            cancellationToken: TestContext.Current.CancellationToken);
        return orderId;
    }

    [Fact]
    public async Task Return_gives_the_sold_quota_back_and_a_retry_answers_the_same_and_changes_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10, maxPerUser: 2);
        var hold = TicketServiceHost.Hold(ticket, qty: 2);
        var orderId = await SellAsync(hold);

        var first = await ReturnAsync(hold.ReservationId, orderId);
        var before = await _service.SnapshotAsync();
        var retry = await ReturnAsync(hold.ReservationId, orderId);

        Assert.Equal(new ReturnSoldReservationResponse { ReservationId = hold.ReservationId, OrderId = orderId, Qty = 2 }, first);
        Assert.Equal(first, retry);
        Assert.Equal(before, await _service.SnapshotAsync());
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
        await _service.AssertConservedAsync(ticket);
        // The returned purchase no longer counts against max_per_user: the buyer may buy two again.
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 2, userId: hold.UserId));
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task A_reservation_not_sold_to_the_order_is_refused_and_nothing_changes()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var held = TicketServiceHost.Hold(ticket);
        await _service.ReserveAsync(held);
        var released = TicketServiceHost.Hold(ticket);
        await _service.ReserveAsync(released);
        await _service.Client.ReleaseReservationAsync(new ReleaseReservationRequest { ReservationId = released.ReservationId, Reason = ReleaseReason.Expired },
            cancellationToken: TestContext.Current.CancellationToken);
        var sold = TicketServiceHost.Hold(ticket, qty: 2);
        var buyer = await SellAsync(sold);
        var before = await _service.SnapshotAsync();
        var otherOrder = Guid.CreateVersion7().ToString();

        var notSold = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => ReturnAsync(held.ReservationId, otherOrder));
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => ReturnAsync(released.ReservationId, otherOrder));
        var soldToAnother = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => ReturnAsync(sold.ReservationId, otherOrder));
        var unknown = await GrpcAssert.FailsWith(StatusCode.NotFound, () => ReturnAsync(Guid.CreateVersion7().ToString(), otherOrder));
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, () => ReturnAsync(sold.ReservationId, "not-a-uuid"));
        await GrpcAssert.FailsWith(StatusCode.InvalidArgument, () => ReturnAsync("", buyer));

        Assert.Contains(buyer, soldToAnother.Status.Detail, StringComparison.Ordinal);
        Assert.Contains($"not to order {otherOrder}", soldToAnother.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("is HELD, not sold", notSold.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("does not exist", unknown.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await _service.SnapshotAsync());
        await _service.AssertConservedAsync(ticket);
    }

    [Fact]
    public async Task A_returned_reservation_is_neither_finalized_released_nor_returned_for_another_order()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 10);
        var hold = TicketServiceHost.Hold(ticket, qty: 3);
        var orderId = await SellAsync(hold);
        await ReturnAsync(hold.ReservationId, orderId);
        var before = await _service.SnapshotAsync();

        var finalize = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => _service.Client.FinalizeReservationAsync(
            new FinalizeReservationRequest { ReservationId = hold.ReservationId, OrderId = orderId }).ResponseAsync);
        var release = await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => _service.Client.ReleaseReservationAsync(
            new ReleaseReservationRequest { ReservationId = hold.ReservationId, Reason = ReleaseReason.Expired, OrderId = orderId }).ResponseAsync);
        await GrpcAssert.FailsWith(StatusCode.FailedPrecondition, () => ReturnAsync(hold.ReservationId, Guid.CreateVersion7().ToString()));

        Assert.Contains("returned; it can no longer be finalized", finalize.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("returned; there is nothing to release", release.Status.Detail, StringComparison.Ordinal);
        Assert.Equal(before, await _service.SnapshotAsync());
        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
    }
}
