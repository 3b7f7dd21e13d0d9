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
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(2);
        await host.CreatedAsync(orderId, expiresAt);
        await ExpirationServiceHost.EventuallyAsync(() => host.ReminderRegisteredAtAsync(orderId), "the hold reminder");

        await host.StopAsync();
        Assert.Empty(await host.LoggedExpirationsAsync(orderId));
        await UntilPastAsync(expiresAt);
        await host.StartAgainAsync(ExpirationServiceHost.EmbeddedResources);

        Assert.Equal(new ExpirationComplete(orderId, expiresAt), (await host.ExpirationOfAsync(orderId)).Data);
        await host.ReminderGoneAsync(orderId);
        Assert.Single(await host.LoggedExpirationsAsync(orderId));
    }

    [Fact]
    public async Task An_expiration_the_pubsub_refuses_is_published_once_it_accepts_again()
    {
        await using var host = await ExpirationServiceHost.StartAsync(postgres);
        var orderId = Guid.NewGuid();
        var expiresAt = DateTimeOffset.UtcNow.AddSeconds(1);
        await host.CreatedAsync(orderId, expiresAt);
        var registeredAt = await ExpirationServiceHost.EventuallyAsync(() => host.ReminderRegisteredAtAsync(orderId), "the hold reminder");

        await host.StopAsync();
        await host.StartAgainAsync(ExpirationServiceHost.WithoutPubSub);
        // The reminder fired, the publish failed, and the actor scheduled another attempt.
        await ExpirationServiceHost.EventuallyAsync(
            async () => await host.ReminderRegisteredAtAsync(orderId) is { } again && again > registeredAt ? "rescheduled" : null, "a retry of the expiration");
        Assert.Empty(await host.LoggedExpirationsAsync(orderId));

        await host.StopAsync();
        await host.StartAgainAsync(ExpirationServiceHost.EmbeddedResources);

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
