using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.TicketService.Tests;

public sealed class BadInputTests(PostgresServer postgres) : IAsyncLifetime
{
    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    private async Task AssertEachIsRefusedAndChangesNothing(IEnumerable<(string Case, StatusCode Expected, Func<Task> Call)> cases)
    {
        var before = await _service.SnapshotAsync();
        foreach (var (name, expected, call) in cases)
        {
            var error = await Assert.ThrowsAsync<RpcException>(call);
            Assert.True(expected == error.StatusCode, $"{name}: expected {expected}, got {error.StatusCode} ({error.Status.Detail})");
            Assert.False(string.IsNullOrWhiteSpace(error.Status.Detail), $"{name}: the error says why");
        }

        Assert.Equal(before, await _service.SnapshotAsync());
    }

    [Fact]
    public async Task Every_bad_reserve_is_refused_with_its_status_and_changes_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 5, maxPerUser: 3);
        var closed = await _service.CreateTicketTypeAsync(capacity: 5,
            saleStartsAt: DateTimeOffset.UtcNow.AddDays(-2), saleEndsAt: DateTimeOffset.UtcNow.AddDays(-1));
        var notYet = await _service.CreateTicketTypeAsync(capacity: 5,
            saleStartsAt: DateTimeOffset.UtcNow.AddDays(1), saleEndsAt: DateTimeOffset.UtcNow.AddDays(2));
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 3, userId: "dana"));
        await _service.ReserveAsync(TicketServiceHost.Hold(ticket, qty: 1));

        ReserveQuotaRequest With(Action<ReserveQuotaRequest> change, TicketType? on = null)
        {
            var request = TicketServiceHost.Hold(on ?? ticket);
            change(request);
            return request;
        }

        Func<Task> Reserve(ReserveQuotaRequest request) => () => _service.ReserveAsync(request);

        await AssertEachIsRefusedAndChangesNothing(
        [
            ("qty 0", StatusCode.InvalidArgument, Reserve(With(r => r.Qty = 0))),
            ("qty negative", StatusCode.InvalidArgument, Reserve(With(r => r.Qty = -2))),
            ("qty over the per-request maximum", StatusCode.InvalidArgument, Reserve(With(r => r.Qty = 101))),
            ("qty over max_per_user", StatusCode.InvalidArgument, Reserve(With(r => r.Qty = 4))),
            ("malformed ticket_id", StatusCode.InvalidArgument, Reserve(With(r => r.TicketId = "not-a-uuid"))),
            ("missing ticket_id", StatusCode.InvalidArgument, Reserve(With(r => r.TicketId = ""))),
            ("malformed reservation_id", StatusCode.InvalidArgument, Reserve(With(r => r.ReservationId = "42"))),
            ("missing user_id", StatusCode.InvalidArgument, Reserve(With(r => r.UserId = " "))),
            ("missing expires_at", StatusCode.InvalidArgument, Reserve(With(r => r.ExpiresAt = null))),
            ("expires_at in the past", StatusCode.InvalidArgument, Reserve(With(r => r.ExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddSeconds(-1))))),
            ("unknown ticket", StatusCode.NotFound, Reserve(With(r => r.TicketId = Guid.CreateVersion7().ToString()))),
            ("sale closed", StatusCode.FailedPrecondition, Reserve(With(_ => { }, closed))),
            ("sale not open yet", StatusCode.FailedPrecondition, Reserve(With(_ => { }, notYet))),
            ("sold out", StatusCode.ResourceExhausted, Reserve(With(r => r.Qty = 2))),
            ("over max_per_user", StatusCode.ResourceExhausted, Reserve(With(r => r.UserId = "dana"))),
        ]);
    }

    [Fact]
    public async Task Every_bad_finalize_or_release_is_refused_with_its_status_and_changes_nothing()
    {
        var ticket = await _service.CreateTicketTypeAsync(capacity: 5);
        var hold = TicketServiceHost.Hold(ticket);
        await _service.ReserveAsync(hold);
        var unknown = Guid.CreateVersion7().ToString();
        var orderId = Guid.CreateVersion7().ToString();

        Func<Task> Finalize(string reservationId, string order) => () => _service.Client.FinalizeReservationAsync(
            new FinalizeReservationRequest { ReservationId = reservationId, OrderId = order }, cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;
        Func<Task> Release(string reservationId, ReleaseReason reason) => () => _service.Client.ReleaseReservationAsync(
            new ReleaseReservationRequest { ReservationId = reservationId, Reason = reason }, cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

        await AssertEachIsRefusedAndChangesNothing(
        [
            ("finalize unknown reservation", StatusCode.NotFound, Finalize(unknown, orderId)),
            ("finalize malformed reservation_id", StatusCode.InvalidArgument, Finalize("x", orderId)),
            ("finalize malformed order_id", StatusCode.InvalidArgument, Finalize(hold.ReservationId, "order-1")),
            ("finalize missing order_id", StatusCode.InvalidArgument, Finalize(hold.ReservationId, "")),
            ("release malformed reservation_id", StatusCode.InvalidArgument, Release("x", ReleaseReason.Expired)),
            ("release without a reason", StatusCode.InvalidArgument, Release(hold.ReservationId, ReleaseReason.Unspecified)),
            ("release with an unknown reason", StatusCode.InvalidArgument, Release(hold.ReservationId, (ReleaseReason)99)),
        ]);
    }

    [Fact]
    public async Task Every_bad_ticket_type_is_refused_with_its_status_and_changes_nothing()
    {
        var existing = await _service.CreateTicketTypeAsync(capacity: 5);

        CreateTicketTypeRequest With(Action<CreateTicketTypeRequest> change)
        {
            var request = new CreateTicketTypeRequest
            {
                EventId = Guid.CreateVersion7().ToString(),
                Name = "Floor",
                Capacity = 100,
                UnitPrice = new Money { AmountMinor = 1_000, Currency = "EUR" },
                MaxPerUser = 4,
                SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
                SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
            };
            change(request);
            return request;
        }

        Func<Task> Create(CreateTicketTypeRequest request) => () =>
            _service.Client.CreateTicketTypeAsync(request, cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;
        Func<Task> Get(string ticketId) => () =>
            _service.Client.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = ticketId }, cancellationToken: TestContext.Current.CancellationToken).ResponseAsync;

        await AssertEachIsRefusedAndChangesNothing(
        [
            ("capacity 0", StatusCode.InvalidArgument, Create(With(r => r.Capacity = 0))),
            ("negative price", StatusCode.InvalidArgument, Create(With(r => r.UnitPrice.AmountMinor = -1))),
            ("price beyond Stripe's largest amount", StatusCode.InvalidArgument, Create(With(r => r.UnitPrice.AmountMinor = 100_000_000))),
            ("missing price", StatusCode.InvalidArgument, Create(With(r => r.UnitPrice = null))),
            ("two-letter currency", StatusCode.InvalidArgument, Create(With(r => r.UnitPrice.Currency = "EU"))),
            ("currency with a digit", StatusCode.InvalidArgument, Create(With(r => r.UnitPrice.Currency = "E1R"))),
            ("max_per_user 0", StatusCode.InvalidArgument, Create(With(r => r.MaxPerUser = 0))),
            ("sale window reversed", StatusCode.InvalidArgument, Create(With(r => (r.SaleStartsAt, r.SaleEndsAt) = (r.SaleEndsAt, r.SaleStartsAt)))),
            ("missing sale end", StatusCode.InvalidArgument, Create(With(r => r.SaleEndsAt = null))),
            ("missing name", StatusCode.InvalidArgument, Create(With(r => r.Name = ""))),
            ("malformed event_id", StatusCode.InvalidArgument, Create(With(r => r.EventId = "concert"))),
            ("seat plan without section", StatusCode.InvalidArgument, Create(With(r => r.SeatPlanId = Guid.CreateVersion7().ToString()))),
            ("section without seat plan", StatusCode.InvalidArgument, Create(With(r => r.Section = "A"))),
            ("ticket_id reused with other settings", StatusCode.AlreadyExists, Create(With(r => r.TicketId = existing.TicketId))),
            ("get unknown ticket type", StatusCode.NotFound, Get(Guid.CreateVersion7().ToString())),
            ("get malformed ticket_id", StatusCode.InvalidArgument, Get("7")),
        ]);
    }
}
