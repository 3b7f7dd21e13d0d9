using Dapr.Workflow;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.Testing;

namespace TicketSaga.OrderService.Tests;

/// <summary>The runtime goes away under a running order-service: nothing published is lost or reordered, no order is stuck.</summary>
public sealed class RestartTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    [Fact]
    public async Task After_a_runtime_restart_the_outbox_resumes_in_order_and_every_saga_comes_back()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer("restart-user");
        var paid = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 2 })).GetProperty("order_id").GetString()!;
        await Eventually.HoldsAsync(async () => (await system.OutboxAsync(paid)).All(r => r.Published), "the first order announced");
        // The runtime goes away under a saga that waits for its payment, as most live orders do.
        var workflows = system.Orders.Services.GetRequiredService<DaprWorkflowClient>();
        await Eventually.HoldsAsync(async () => (await workflows.GetWorkflowStateAsync(paid, false)).RuntimeStatus == WorkflowRuntimeStatus.Running,
            "the first order's saga waiting");
        var writtenWhileDown = new List<string>();

        await system.RestartRuntimeAsync(async () =>
        {
            // Orders stored while the sidecar is gone (as POST /orders stores them), already expiring:
            // their events must wait, and their sagas must come back to end them.
            for (var i = 0; i < 3; i++)
            {
                var order = new Order(Guid.CreateVersion7(), "restart-user", Guid.Parse(ticket.TicketId), Guid.CreateVersion7(), 1, null, [],
                    4_500, "EUR", OrderStatuses.Pending, null, DateTimeOffset.UtcNow.AddSeconds(1), DateTimeOffset.UtcNow);
                await system.OrderStore.CreateAsync(order, default);
                writtenWhileDown.Add(order.OrderId.ToString());
            }

            await Eventually.HoldsAsync(() => Task.FromResult(system.Relay.ConsecutiveFailures > 0), "a failed publish while the runtime is down");
            foreach (var orderId in writtenWhileDown)
            {
                Assert.False((await system.OutboxAsync(orderId)).Single().Published);
            }
        });

        await system.PublishPaymentAsync(paid, Guid.NewGuid().ToString());

        await SagaSystem.WaitForStatusAsync(customer, paid, OrderStatuses.Confirmed);
        Assert.Equal(2, (await system.AvailabilityAsync(ticket)).Sold);
        foreach (var orderId in writtenWhileDown)
        {
            await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Expired);
            await Eventually.HoldsAsync(async () => (await system.PublishedAsync(orderId)).Count == 2, $"both events of {orderId}");
            var outbox = await system.OutboxAsync(orderId);
            var published = await system.PublishedAsync(orderId);
            Assert.Equal([Topics.OrderCreated, Topics.OrderCancelled], published.Select(e => e.Topic));
            Assert.Equal(outbox.Select(r => r.Id.ToString()), published.Select(e => e.MessageId));
            Assert.All(published, e => Assert.Equal(orderId, e.PartitionKey));
        }
    }
}
