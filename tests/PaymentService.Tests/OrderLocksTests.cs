using System.Data;
using Npgsql;

namespace TicketSaga.PaymentService.Tests;

public sealed class OrderLocksTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task Order_locks_held_while_stripe_answers_leave_half_the_pool_to_everything_else()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var pool = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(world.ConnectionString) { MaxPoolSize = 4, Timeout = 2 }.ConnectionString);
        using var locks = new OrderLocks(pool);
        var first = await locks.AcquireAsync(Guid.NewGuid(), cancellationToken);
        await using var second = await locks.AcquireAsync(Guid.NewGuid(), cancellationToken);

        var third = locks.AcquireAsync(Guid.NewGuid(), cancellationToken);
        Assert.Null(await locks.TryAcquireAsync(Guid.NewGuid(), cancellationToken));
        // The other half of the pool still serves (the waiting lock holds no connection), twice at once.
        await using (var inbox = await pool.OpenConnectionAsync(cancellationToken))
        await using (var outbox = await pool.OpenConnectionAsync(cancellationToken))
        {
            Assert.False(third.IsCompleted);
        }

        await first.DisposeAsync();
        await using var taken = await third.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        Assert.Equal(ConnectionState.Open, taken.Connection.State);
    }
}
