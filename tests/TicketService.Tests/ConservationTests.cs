using Grpc.Core;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;

namespace TicketSaga.TicketService.Tests;

public sealed class ConservationTests(PostgresServer postgres) : IAsyncLifetime
{
    private TicketServiceHost _service = null!;

    public async ValueTask InitializeAsync() => _service = await TicketServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => _service.DisposeAsync();

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Available_plus_held_plus_sold_stays_the_capacity_under_a_random_concurrent_workload(int seed)
    {
        const int Capacity = 60, MaxPerUser = 5;
        var ticket = await _service.CreateTicketTypeAsync(capacity: Capacity, maxPerUser: MaxPerUser);
        var users = Enumerable.Range(0, 12).Select(i => $"user-{i}").ToArray();

        // Each buyer reserves, then finalizes, releases, retries or abandons, with other buyers doing the same at once.
        var buyers = Enumerable.Range(0, 16).Select(buyer => Task.Run(async () =>
        {
            var random = new Random(seed * 1000 + buyer);
            for (var step = 0; step < 15; step++)
            {
                var hold = TicketServiceHost.Hold(ticket, qty: random.Next(1, 4), userId: users[random.Next(users.Length)]);
                try
                {
                    await _service.ReserveAsync(hold);
                }
                catch (RpcException ex) when (ex.StatusCode == StatusCode.ResourceExhausted)
                {
                    continue;
                }

                switch (random.Next(4))
                {
                    case 0:
                        await _service.Client.FinalizeReservationAsync(new FinalizeReservationRequest
                        {
                            ReservationId = hold.ReservationId,
                            OrderId = Guid.CreateVersion7().ToString(),
                        }, cancellationToken: TestContext.Current.CancellationToken);
                        break;
                    case 1:
                    case 2:
                        await _service.Client.ReleaseReservationAsync(new ReleaseReservationRequest
                        {
                            ReservationId = hold.ReservationId,
                            Reason = ReleaseReason.Cancelled,
                        }, cancellationToken: TestContext.Current.CancellationToken);
                        break;
                    default:
                        await _service.ReserveAsync(hold);
                        break;
                }
            }
        }));
        await Task.WhenAll(buyers);

        var availability = await _service.AvailabilityAsync(ticket);
        Assert.Equal(Capacity, availability.Available + availability.Held + availability.Sold);
        Assert.True(availability.Held + availability.Sold > 0, "the workload sold or held something");
        await _service.AssertConservedAsync(ticket);
    }
}
