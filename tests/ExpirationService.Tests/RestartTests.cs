using TicketSaga.Contracts;
using TicketSaga.Testing;

namespace TicketSaga.ExpirationService.Tests;

/// <summary>Holds are not lost when the runtime goes down or the pub/sub refuses the expiration.</summary>
public sealed class RestartTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_hold_that_came_due_while_the_runtime_was_down_expires_after_the_restart()
    {
        await using var host = await ExpirationServiceHost.StartAsync(postgres);
        var orderId = Guid.NewGuid();
        // Far enough ahead that the runtime is down before the hold comes due.
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(4);
        await host.CreatedAsync(orderId, expiresAt);
        await ExpirationServiceHost.EventuallyAsync(() => host.ReminderRegisteredAtAsync(orderId), "the hold reminder");

        await host.StopAsync();
        Assert.Empty(await host.LoggedExpirationsAsync(orderId));
        await UntilPastAsync(expiresAt);
        await host.StartAgainAsync(Repository.EmbeddedResources);

        Assert.Equal(new ExpirationComplete(orderId, expiresAt), (await host.ExpirationOfAsync(orderId)).Data);
        await host.ReminderGoneAsync(orderId);
        Assert.Single(await host.LoggedExpirationsAsync(orderId));
    }

    [Fact]
    public async Task An_expiration_the_pubsub_refuses_is_published_once_it_accepts_again()
    {
        var runtimeDatabase = await postgres.CreateDatabaseAsync("expiration_runtime");
        await using var host = await ExpirationServiceHost.StartAsync(runtimeDatabase, ExpirationServiceHost.WithoutPubSub);
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow;
        await host.TimerOf(orderId).HoldUntilAsync(expiresAt);
        var registeredAt = await ExpirationServiceHost.EventuallyAsync(() => host.ReminderRegisteredAtAsync(orderId), "the hold reminder");

        // The reminder fires, the publish fails, and the actor schedules another attempt.
        await ExpirationServiceHost.EventuallyAsync(
            async () => await host.ReminderRegisteredAtAsync(orderId) is { } again && again > registeredAt ? "rescheduled" : null, "a retry of the expiration");
        Assert.Empty(await host.LoggedExpirationsAsync(orderId));
        await host.StopAsync();
        await host.StartAgainAsync(Repository.EmbeddedResources);

        Assert.Equal(new ExpirationComplete(orderId, expiresAt), (await host.ExpirationOfAsync(orderId)).Data);
        await host.ReminderGoneAsync(orderId);
        Assert.Single(await host.LoggedExpirationsAsync(orderId));
    }

    private static async Task UntilPastAsync(DateTimeOffset moment)
    {
        var wait = moment - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, TestContext.Current.CancellationToken);
        }
    }
}
