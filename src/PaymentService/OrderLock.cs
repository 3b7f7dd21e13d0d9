using Npgsql;

namespace TicketSaga.PaymentService;

/// <summary>
/// One writer per order: confirms, webhooks and the order's cancellation take a session-level
/// advisory lock on the order before they read the payment and talk to Stripe, so one order never
/// has two Stripe calls in flight (concurrent confirms queue, then see the first one's result). The
/// lock dies with its connection, so a crashed process never leaves an order locked.
/// </summary>
public sealed class OrderLock : IAsyncDisposable
{
    private const string KeySql = "hashtextextended('payment-order:' || @order::text, 0)";

    private readonly NpgsqlConnection _connection;
    private readonly Guid _orderId;
    private readonly SemaphoreSlim _slot;

    private OrderLock(NpgsqlConnection connection, Guid orderId, SemaphoreSlim slot)
    {
        _connection = connection;
        _orderId = orderId;
        _slot = slot;
    }

    /// <summary>The connection that holds the lock; do the order's reads and writes on it.</summary>
    public NpgsqlConnection Connection => _connection;

    /// <param name="slot">Taken by the caller (<see cref="OrderLocks"/>); given back when the lock is.</param>
    internal static async Task<OrderLock> AcquireAsync(NpgsqlDataSource dataSource, Guid orderId, SemaphoreSlim slot, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_advisory_lock({KeySql})", connection);
            command.Parameters.AddWithValue("order", orderId);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new OrderLock(connection, orderId, slot);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <returns>The lock, or null at once when someone else holds it.</returns>
    internal static async Task<OrderLock?> TryAcquireAsync(NpgsqlDataSource dataSource, Guid orderId, SemaphoreSlim slot, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({KeySql})", connection);
            command.Parameters.AddWithValue("order", orderId);
            if ((bool)(await command.ExecuteScalarAsync(cancellationToken))!)
            {
                return new OrderLock(connection, orderId, slot);
            }
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }

        await connection.DisposeAsync();
        return null;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_advisory_unlock({KeySql})", _connection);
            command.Parameters.AddWithValue("order", _orderId);
            await command.ExecuteNonQueryAsync(CancellationToken.None);
        }
        finally
        {
            await _connection.DisposeAsync();
            _slot.Release();
        }
    }
}

/// <summary>
/// Hands out <see cref="OrderLock"/>s, at most half of the pool's connections at once. A lock keeps its
/// connection while its holder waits for Stripe, so without a bound slow answers from Stripe would take
/// every connection, and the inbox, the outbox relay and order.created would wait with them. A caller
/// beyond the bound waits here, holding no connection.
/// </summary>
public sealed class OrderLocks(NpgsqlDataSource dataSource) : IDisposable
{
    private readonly SemaphoreSlim _slots = new(Math.Max(1, new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).MaxPoolSize / 2));

    public async Task<OrderLock> AcquireAsync(Guid orderId, CancellationToken cancellationToken)
    {
        await _slots.WaitAsync(cancellationToken);
        try
        {
            return await OrderLock.AcquireAsync(dataSource, orderId, _slots, cancellationToken);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    /// <returns>The lock, or null at once when someone else holds it or every slot is taken.</returns>
    public async Task<OrderLock?> TryAcquireAsync(Guid orderId, CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            return null;
        }

        try
        {
            var order = await OrderLock.TryAcquireAsync(dataSource, orderId, _slots, cancellationToken);
            if (order is null)
            {
                _slots.Release();
            }

            return order;
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    public void Dispose() => _slots.Dispose();
}
