using Dapr.Workflow;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using System.Net;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Events;
using TicketSaga.OrderService.Saga;
using TicketSaga.ServiceDefaults;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Testing;
using TicketSaga.Venue.V1;

namespace TicketSaga.OrderService.Tests;

/// <summary>Phases 4 and 5: payment, expiry and cancel, driven by the events the other services publish.</summary>
public sealed class OrderSagaTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    private static string NewMessageId() => Guid.NewGuid().ToString();

    [Fact]
    public async Task A_paid_order_is_confirmed_its_seats_sold_and_completion_announced_and_a_late_expiry_changes_nothing()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var order = await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 });
        var orderId = order.GetProperty("order_id").GetString()!;

        await system.PublishPaymentAsync(orderId, NewMessageId());
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);
        await system.PublishExpiryAsync(orderId, NewMessageId());

        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Count == 2, "orders.order.completed");
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((0, 2), (availability.Held, availability.Sold));
        var seats = await system.SeatsAsync(plan);
        Assert.All(order.GetProperty("seats").EnumerateArray(), s => Assert.Equal(SeatStatus.Sold, seats[s.GetProperty("seat_id").GetString()!].Status));
        // The expiry was handled (its inbox row) and left the confirmed order alone.
        await Eventually.HoldsAsync(async () => await system.OrderStore.HasHandledAsync(await LastExpiryIdAsync(orderId), default), "the late expiry handled");
        Assert.Equal(OrderStatuses.Confirmed, (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString());
        Assert.Equal([Topics.OrderCreated, Topics.OrderCompleted], (await system.PublishedAsync(orderId)).Select(e => e.Topic));
        Assert.Equal(HttpStatusCode.Conflict, (await customer.DeleteAsync($"/orders/{orderId}")).StatusCode);
    }

    [Fact]
    public async Task A_saga_run_again_over_a_sold_order_past_its_deadline_gives_nothing_back()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var placed = await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 });
        var orderId = placed.GetProperty("order_id").GetString()!;
        await system.PublishPaymentAsync(orderId, NewMessageId());
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);
        var workflows = system.Orders.Services.GetRequiredService<DaprWorkflowClient>();
        await Eventually.HoldsAsync(async () => (await workflows.GetWorkflowStateAsync(orderId, false)).RuntimeStatus == WorkflowRuntimeStatus.Completed, "the saga done");

        // A scheduler that saw the order before it was paid (a placement attempt that stalled) replaces the completed saga.
        var sold = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!;
        await system.Orders.Services.GetRequiredService<OrderSagas>().StartAsync(
            sold with { ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-5), PaidInTime = false }, default);

        await Eventually.HoldsAsync(async () => await workflows.GetWorkflowStateAsync(orderId, true) is { RuntimeStatus: WorkflowRuntimeStatus.Completed } state
            && !state.ReadInputAs<OrderSagaInput>()!.Paid, "the stray saga done");
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((0, 2), (availability.Held, availability.Sold));
        var seats = await system.SeatsAsync(plan);
        Assert.All(placed.GetProperty("seats").EnumerateArray(), s => Assert.Equal(SeatStatus.Sold, seats[s.GetProperty("seat_id").GetString()!].Status));
        Assert.Equal(OrderStatuses.Confirmed, (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_paid_order_whose_saga_was_lost_before_finalizing_is_confirmed_by_the_recreated_saga()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        var workflows = system.Orders.Services.GetRequiredService<DaprWorkflowClient>();
        await Eventually.HoldsAsync(async () => (await workflows.GetWorkflowStateAsync(orderId, false)).Exists, "the saga started");

        // The payment is recorded, but its signal went to an instance that is then lost. Recorded first:
        // a sweep between the loss and the record would re-create a saga that rightly waits for a signal.
        await system.OrderStore.RecordPaymentAsync(NewMessageId(),
            new PaymentSucceeded(Guid.Parse(orderId), Guid.CreateVersion7(), "pi_lost_signal", 9_000, "EUR", DateTimeOffset.UtcNow), default);
        await workflows.TerminateWorkflowAsync(orderId);

        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((0, 2), (availability.Held, availability.Sold));
    }

    [Fact]
    public async Task An_expired_order_gives_its_hold_back_and_a_payment_after_that_is_answered_for_a_refund_once()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;

        await system.PublishExpiryAsync(orderId, NewMessageId());
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Expired);
        await system.PublishPaymentAsync(orderId, NewMessageId());
        await system.PublishPaymentAsync(orderId, NewMessageId());

        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Any(e => e.Reason == CancellationReasons.PaymentAfterEnd),
            "the PAYMENT_AFTER_END answer");
        await Eventually.HoldsAsync(async () => (await system.OutboxAsync(orderId)).All(r => r.Published), "the outbox drained");
        var published = await system.PublishedAsync(orderId);
        Assert.Equal(
            [(Topics.OrderCreated, null), (Topics.OrderCancelled, CancellationReasons.Expired), (Topics.OrderCancelled, CancellationReasons.PaymentAfterEnd)],
            published.Select(e => (e.Topic, e.Reason)));
        Assert.Equal(OrderStatuses.Expired, (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString());
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
        Assert.Equal(HttpStatusCode.Conflict, (await customer.DeleteAsync($"/orders/{orderId}")).StatusCode);
    }

    [Fact]
    public async Task A_payment_captured_before_expires_at_that_arrives_after_the_expiry_still_confirms_the_order()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var order = await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 });
        var orderId = order.GetProperty("order_id").GetString()!;

        var expiresAt = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!.ExpiresAt;

        // The expiry is handled first; the payment Stripe captured in time (at expires_at itself) is still on its way.
        var expiryId = NewMessageId();
        await system.PublishExpiryAsync(orderId, expiryId);
        await Eventually.HoldsAsync(async () => await system.OrderStore.HasHandledAsync(expiryId, default), "the expiry handled");
        await system.PublishPaymentAsync(orderId, NewMessageId(), capturedAt: expiresAt);

        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);
        // The outbox relay publishes after the status is stored.
        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Count == 2, "orders.order.completed published");
        Assert.Equal([Topics.OrderCreated, Topics.OrderCompleted], (await system.PublishedAsync(orderId)).Select(e => e.Topic));
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((0, 2), (availability.Held, availability.Sold));
        var seats = await system.SeatsAsync(plan);
        Assert.All(order.GetProperty("seats").EnumerateArray(), s => Assert.Equal(SeatStatus.Sold, seats[s.GetProperty("seat_id").GetString()!].Status));
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(30, 0)]
    [InlineData(-30, 1)]
    public async Task An_expiry_from_expires_at_on_leaves_the_settle_window_to_the_sagas_own_timer_and_an_early_one_starts_it(
        int secondsAfterExpiresAt, long signalsRaised)
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var order = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!;
        var workflows = system.Orders.Services.GetRequiredService<DaprWorkflowClient>();
        await Eventually.HoldsAsync(async () => (await workflows.GetWorkflowStateAsync(orderId, false)).RuntimeStatus == WorkflowRuntimeStatus.Running,
            "the saga waiting");
        // order-service's clock when the expiry arrives; the saga waits on its own timer until expires_at + settle window.
        var signals = system.SignalsAt(order.ExpiresAt.AddSeconds(secondsAfterExpiresAt));

        var expiryId = NewMessageId();
        Assert.Equal(DaprAnswer.Success, await signals.ExpirationCompleteAsync(expiryId, new ExpirationComplete(order.OrderId, order.ExpiresAt), default));

        Assert.True(await system.OrderStore.HasHandledAsync(expiryId, default));
        Assert.Equal(signalsRaised, await system.SignalsRaisedAsync(orderId));
        Assert.Equal(WorkflowRuntimeStatus.Running, (await workflows.GetWorkflowStateAsync(orderId, false)).RuntimeStatus);
    }

    [Theory]
    [InlineData(30, false)]
    [InlineData(0, true)]
    public async Task From_expires_at_on_an_expiry_asks_the_runtime_about_the_saga_only_when_no_sweeper_would_replace_a_lost_one(
        int sweepIntervalSeconds, bool asksTheRuntime)
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var order = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!;
        // A workflow client whose sidecar is gone: any question to the runtime fails.
        await using var unreachable = UnreachableWorkflows();
        var sagas = new OrderSagas(unreachable.GetRequiredService<DaprWorkflowClient>(),
            Options.Create(new OrderOptions { SweepInterval = TimeSpan.FromSeconds(sweepIntervalSeconds) }), NullLogger<OrderSagas>.Instance);
        var signals = new OrderSignals(system.OrderStore, sagas, new FakeTimeProvider(order.ExpiresAt), NullLogger<OrderSignals>.Instance);
        var expiryId = NewMessageId();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(3));

        var handling = signals.ExpirationCompleteAsync(expiryId, new ExpirationComplete(order.OrderId, order.ExpiresAt), patience.Token);

        if (asksTheRuntime)
        {
            await Assert.ThrowsAnyAsync<Exception>(() => handling);
            Assert.False(await system.OrderStore.HasHandledAsync(expiryId, default));
        }
        else
        {
            Assert.Equal(DaprAnswer.Success, await handling);
            Assert.True(await system.OrderStore.HasHandledAsync(expiryId, default));
        }
    }

    private static ServiceProvider UnreachableWorkflows()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{PortAllocator.FreePort()}",
        }).Build());
        services.AddLogging();
        services.AddDaprWorkflow(_ => { });
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task An_early_expiry_delivered_twice_signals_the_saga_once_and_one_of_an_unknown_order_is_dropped()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var order = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!;
        var signals = system.SignalsAt(order.ExpiresAt.AddSeconds(-30));
        var expiry = new ExpirationComplete(order.OrderId, order.ExpiresAt);
        var expiryId = NewMessageId();

        Assert.Equal(DaprAnswer.Success, await signals.ExpirationCompleteAsync(expiryId, expiry, default));
        Assert.Equal(DaprAnswer.Success, await signals.ExpirationCompleteAsync(expiryId, expiry, default));
        var stranger = Guid.NewGuid();
        var unknown = await signals.ExpirationCompleteAsync(NewMessageId(), expiry with { OrderId = stranger }, default);

        Assert.Equal(1, await system.SignalsRaisedAsync(orderId));
        Assert.Equal(DaprAnswer.Drop($"expiry of unknown order {stranger}"), unknown);
    }

    [Fact]
    public async Task An_expiry_for_another_moment_than_the_orders_expires_at_is_dropped_and_the_hold_stands()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        var order = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!;
        var signals = system.SignalsAt(order.ExpiresAt.AddMinutes(-10));

        var answer = await signals.ExpirationCompleteAsync(NewMessageId(), new ExpirationComplete(order.OrderId, new DateTimeOffset(2000, 1, 1, 0, 0, 0, TimeSpan.Zero)), default);

        Assert.Equal(DaprAnswer.Drop(
            $"expiry of order {order.OrderId} names 2000-01-01T00:00:00.0000000+00:00, not the order's expires_at {order.ExpiresAt:O}; the order is not expired by it"), answer);
        Assert.Equal(0, await system.SignalsRaisedAsync(orderId));
        Assert.Equal(OrderStatuses.Pending, (await system.OrderStore.GetAsync(order.OrderId, default))!.Status);
    }

    [Fact]
    public async Task A_payment_captured_after_expires_at_is_refunded_although_it_arrives_while_the_order_settles()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        var expiresAt = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!.ExpiresAt;

        var expiryId = NewMessageId();
        await system.PublishExpiryAsync(orderId, expiryId);
        await Eventually.HoldsAsync(async () => await system.OrderStore.HasHandledAsync(expiryId, default), "the expiry handled");
        await system.PublishPaymentAsync(orderId, NewMessageId(), capturedAt: expiresAt.AddSeconds(1));

        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Expired);
        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Any(e => e.Reason == CancellationReasons.PaymentAfterEnd),
            "the PAYMENT_AFTER_END answer");
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((10, 0, 0), (availability.Available, availability.Held, availability.Sold));
    }

    [Fact]
    public async Task A_payment_after_the_seats_were_reclaimed_gives_the_sold_quota_back_and_ends_the_order_expired_for_a_refund()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        // The seat hold is gone before the payment comes (as the reclaimer leaves it); the quota hold is still there.
        await system.VenueClient.ReleaseSeatReservationAsync(new ReleaseSeatReservationRequest
        {
            ReservationId = (await ReservationIdAsync(orderId)).ToString(),
            Reason = SeatReleaseReason.Expired,
        });

        await system.PublishPaymentAsync(orderId, NewMessageId());

        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Expired);
        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Any(e => e.Reason == CancellationReasons.PaymentAfterEnd),
            "the PAYMENT_AFTER_END answer");
        // Both or neither: the quota finalized before the seats were found gone is back in stock.
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 0, 0), (availability.Available, availability.Held, availability.Sold));
        Assert.All((await system.SeatsAsync(plan)).Values, s => Assert.Equal(SeatStatus.Available, s.Status));
    }

    [Fact]
    public async Task An_expired_order_stays_pending_until_its_quota_is_back_and_only_then_ends()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        // Another transaction holds the reservation's row: ticket-service's release waits for it.
        await using var blocker = new NpgsqlConnection(system.TicketsDatabase);
        await blocker.OpenAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("SELECT 1 FROM reservations WHERE ticket_id = $1 FOR UPDATE", blocker, transaction)
        {
            Parameters = { new() { Value = Guid.Parse(ticket.TicketId) } },
        })
        {
            Assert.Equal(1, await lockRow.ExecuteScalarAsync());
        }

        await system.PublishExpiryAsync(orderId, NewMessageId());
        await Eventually.HoldsAsync(
            async () => await SagaSystem.ScalarAsync<long>(
                system.TicketsDatabase, "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", blocker.ProcessID) > 0,
            "the release waiting for the row", seconds: 30);

        Assert.Equal(OrderStatuses.Pending, (await SagaSystem.GetOrderAsync(customer, orderId)).GetProperty("status").GetString());
        await transaction.RollbackAsync();
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Expired);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 0), (availability.Available, availability.Held));
        Assert.All((await system.SeatsAsync(plan)).Values, s => Assert.Equal(SeatStatus.Available, s.Status));
        Assert.Equal(("EXPIRED", "EXPIRED"), await system.ReleaseReasonsAsync(ticket, plan));
    }

    [Fact]
    public async Task A_customer_cancel_releases_ticket_and_seats_and_announces_the_cancellation()
    {
        var (ticket, plan) = await system.SeatedAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;

        using var cancel = await customer.DeleteAsync($"/orders/{orderId}");

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Cancelled);
        await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Count == 2, "orders.order.cancelled");
        Assert.Equal(CancellationReasons.CancelledByCustomer, (await system.PublishedAsync(orderId))[1].Reason);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 0), (availability.Available, availability.Held));
        Assert.All((await system.SeatsAsync(plan)).Values, s => Assert.Equal(SeatStatus.Available, s.Status));
        Assert.Equal(("CANCELLED", "CANCELLED"), await system.ReleaseReasonsAsync(ticket, plan));
        Assert.Equal(HttpStatusCode.Accepted, (await customer.DeleteAsync($"/orders/{orderId}")).StatusCode);
    }

    [Fact]
    public async Task A_payment_for_an_unknown_order_is_dead_lettered_at_once_with_its_reason()
    {
        var unknownOrder = Guid.NewGuid().ToString();
        var paymentId = NewMessageId();

        await system.PublishPaymentAsync(unknownOrder, paymentId, 1000, "EUR");

        var deadLetter = await system.DeadLetterOfAsync(paymentId);
        Assert.Equal(DeadLetterReasons.DroppedByApp, deadLetter.Reason);
        Assert.Equal(1, deadLetter.Attempts);
        Assert.Contains($"unknown order {unknownOrder}", deadLetter.LastError, StringComparison.Ordinal);
        Assert.Equal(Topics.DeadLetter(Topics.PaymentSucceeded), deadLetter.DeadLetterTopic);
        Assert.False(await system.OrderStore.HasHandledAsync(paymentId, default));
    }

    [Fact]
    public async Task Events_delivered_twice_with_the_same_id_change_nothing_twice()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        var paymentId = NewMessageId();

        await system.PublishPaymentAsync(orderId, paymentId);
        await system.PublishPaymentAsync(orderId, paymentId);
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);
        var expiryId = NewMessageId();
        await system.PublishExpiryAsync(orderId, expiryId);
        await system.PublishExpiryAsync(orderId, expiryId);

        await Eventually.HoldsAsync(() => system.OrderStore.HasHandledAsync(expiryId, default), "the expiry handled");
        await Eventually.HoldsAsync(async () => (await system.OutboxAsync(orderId)).All(r => r.Published), "the outbox drained");
        Assert.Equal([Topics.OrderCreated, Topics.OrderCompleted], (await system.PublishedAsync(orderId)).Select(e => e.Topic));
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 0, 2), (availability.Available, availability.Held, availability.Sold));
    }

    private async Task<Guid> ReservationIdAsync(string orderId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT reservation_id FROM orders WHERE order_id = @order", connection);
        command.Parameters.AddWithValue("order", Guid.Parse(orderId));
        return (Guid)(await command.ExecuteScalarAsync())!;
    }

    private async Task<string> LastExpiryIdAsync(string orderId)
    {
        await using var connection = new Npgsql.NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT coalesce(max(message_id), '') FROM inbox WHERE order_id = @order AND topic = @topic", connection);
        command.Parameters.AddWithValue("order", Guid.Parse(orderId));
        command.Parameters.AddWithValue("topic", Topics.ExpirationComplete);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
