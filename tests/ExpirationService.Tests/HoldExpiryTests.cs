using System.Net.Http.Json;
using System.Text.Json;
using TicketSaga.Contracts;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.ExpirationService.Tests;

/// <summary>The hold timer of an order, driven by the order events as order-service publishes them.</summary>
public sealed class HoldExpiryTests(ExpirationServiceFixture fixture) : IClassFixture<ExpirationServiceFixture>
{
    private ExpirationServiceHost Host => fixture.Host;

    [Fact]
    public async Task The_service_declares_its_timer_actor_to_the_sidecar()
    {
        using var http = new HttpClient { BaseAddress = Host.ExpirationServiceAddress };

        var config = await http.GetFromJsonAsync<JsonElement>("/dapr/config", TestContext.Current.CancellationToken);

        Assert.Contains(nameof(ReservationTimer), config.GetProperty("entities").EnumerateArray().Select(e => e.GetString()));
        // Idle timers leave memory after a minute, not Dapr's default hour.
        Assert.Equal("0h1m0s0ms", config.GetProperty("actorIdleTimeout").GetString());
    }

    [Fact]
    public async Task An_event_without_an_order_id_is_dead_lettered_at_once_with_its_reason()
    {
        var messageId = await Host.CreatedWithoutOrderIdAsync(DateTimeOffset.UtcNow.AddMinutes(5));

        var deadLetter = await Host.DeadLetterOfAsync(messageId);
        Assert.Equal(DeadLetterReasons.DroppedByApp, deadLetter.Reason);
        Assert.Equal(1, deadLetter.Attempts);
        Assert.Contains("the event names no order", deadLetter.LastError, StringComparison.Ordinal);
        Assert.Equal(Topics.DeadLetter(Topics.OrderCreated), deadLetter.DeadLetterTopic);
        Assert.True(await Host.PublishedOnAsync(Topics.DeadLetter(Topics.OrderCreated), messageId));
        Assert.Null(await Host.ReminderRegisteredAtAsync(Guid.Empty));
    }

    [Fact]
    public async Task An_order_left_pending_expires_exactly_once_keyed_by_its_order_id()
    {
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(1);

        await Host.CreatedAsync(orderId, expiresAt);

        var received = await Host.ExpirationOfAsync(orderId);
        Assert.Equal(new ExpirationComplete(orderId, expiresAt), received.Data);
        Assert.Equal(ReservationTimer.ExpirationEventId(orderId).ToString(), received.CloudEventId);
        await Host.ReminderGoneAsync(orderId);
        var logged = Assert.Single(await Host.LoggedExpirationsAsync(orderId));
        Assert.Equal(new LoggedExpiration(received.CloudEventId, orderId.ToString(), AppIds.ExpirationService), logged);
        Assert.Single(Host.ReceivedFor(orderId));
    }

    [Fact]
    public async Task A_reminder_callback_made_before_the_holds_expiry_ends_nothing()
    {
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow.AddMinutes(10);
        await Host.CreatedAsync(orderId, expiresAt);
        await Host.OrderEventsHandledAsync();
        var registeredAt = await Host.ReminderRegisteredAtAsync(orderId);
        Assert.NotNull(registeredAt);

        // What a sidecar that forwards an actor method named "remind/expire-hold" unescaped makes of it.
        using var http = new HttpClient { BaseAddress = Host.ExpirationServiceAddress };
        var data = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(expiresAt));
        using var forged = await http.PutAsync($"/actors/{nameof(ReservationTimer)}/{orderId}/method/remind/{ReservationTimer.ExpireHold}",
            JsonContent.Create(new { data, dueTime = "0h0m0s0ms", period = "" }), TestContext.Current.CancellationToken);

        Assert.True(forged.IsSuccessStatusCode, $"the callback ran: {forged.StatusCode}");
        Assert.Equal(registeredAt, await Host.ReminderRegisteredAtAsync(orderId));
        Assert.Null(await Host.OutcomeExpiresAtAsync(orderId));
        Assert.Empty(Host.ReceivedFor(orderId));
    }

    [Fact]
    public async Task A_hold_already_past_its_expiry_expires_right_away()
    {
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow.AddMinutes(-1);

        await Host.CreatedAsync(orderId, expiresAt);

        Assert.Equal(new ExpirationComplete(orderId, expiresAt), (await Host.ExpirationOfAsync(orderId)).Data);
        await Host.ReminderGoneAsync(orderId);
        Assert.Single(await Host.LoggedExpirationsAsync(orderId));
    }

    [Fact]
    public async Task An_order_completed_before_its_expiry_never_expires()
    {
        var orderId = Guid.NewGuid();
        // Time for the end event to arrive first even on a loaded machine.
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(6);
        await Host.CreatedAsync(orderId, expiresAt);
        await ExpirationServiceHost.EventuallyAsync(() => Host.ReminderRegisteredAtAsync(orderId), "the hold reminder");

        await Host.CompletedAsync(orderId);

        await AssertNeverExpiresAsync(orderId, expiresAt);
        // The outcome is kept for a week (Expiration:OutcomeRetention), then the runtime's retention deletes it.
        var outcomeExpiresAt = await ExpirationServiceHost.EventuallyAsync(() => Host.OutcomeExpiresAtAsync(orderId), "the hold's outcome");
        Assert.InRange(outcomeExpiresAt!.Value, DateTimeOffset.UtcNow.AddDays(6.9), DateTimeOffset.UtcNow.AddDays(7));
    }

    [Fact]
    public async Task An_order_cancelled_before_its_expiry_never_expires()
    {
        var orderId = Guid.NewGuid();
        // Time for the end event to arrive first even on a loaded machine.
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(6);
        await Host.CreatedAsync(orderId, expiresAt);
        await ExpirationServiceHost.EventuallyAsync(() => Host.ReminderRegisteredAtAsync(orderId), "the hold reminder");

        await Host.CancelledAsync(orderId);

        await AssertNeverExpiresAsync(orderId, expiresAt);
    }

    [Fact]
    public async Task A_created_event_arriving_after_the_order_completed_schedules_nothing()
    {
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(1);

        await Host.CompletedAsync(orderId);
        // Different topics are not ordered with each other: make sure the completion was handled first.
        await Host.OrderEventsHandledAsync();
        await Host.CreatedAsync(orderId, expiresAt);

        await AssertNeverExpiresAsync(orderId, expiresAt);
    }

    [Fact]
    public async Task Duplicated_created_events_expire_the_order_once_even_when_one_arrives_after_the_expiry()
    {
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(1);

        await Host.CreatedAsync(orderId, expiresAt);
        await Host.CreatedAsync(orderId, expiresAt);
        await Host.ExpirationOfAsync(orderId);
        await Host.CreatedAsync(orderId, expiresAt);
        await Host.OrderEventsHandledAsync();

        await Host.ReminderGoneAsync(orderId);
        Assert.Single(await Host.LoggedExpirationsAsync(orderId));
        Assert.Single(Host.ReceivedFor(orderId));
    }

    [Fact]
    public async Task Events_after_the_expiry_change_nothing()
    {
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow;
        await Host.CreatedAsync(orderId, expiresAt);
        await Host.ExpirationOfAsync(orderId);

        await Host.CancelledAsync(orderId);
        await Host.CreatedAsync(orderId, expiresAt.AddSeconds(1));

        await Host.OrderEventsHandledAsync();
        Assert.Null(await Host.ReminderRegisteredAtAsync(orderId));
        var later = Guid.NewGuid();
        await Host.CreatedAsync(later, expiresAt.AddSeconds(2));
        await Host.ExpirationOfAsync(later);
        Assert.Single(await Host.LoggedExpirationsAsync(orderId));
        Assert.Single(Host.ReceivedFor(orderId));
    }

    /// <summary>
    /// Once expiration-service has handled every order event, the order has no reminder; and an order
    /// created afterwards that expires later than this one does expire, so this one would have by then.
    /// </summary>
    private async Task AssertNeverExpiresAsync(Guid orderId, DateTimeOffset expiresAt)
    {
        await Host.OrderEventsHandledAsync();
        Assert.Null(await Host.ReminderRegisteredAtAsync(orderId));

        var later = Guid.NewGuid();
        await Host.CreatedAsync(later, expiresAt.AddSeconds(1));
        await Host.ExpirationOfAsync(later);

        Assert.Empty(Host.ReceivedFor(orderId));
        Assert.Empty(await Host.LoggedExpirationsAsync(orderId));
    }
}
