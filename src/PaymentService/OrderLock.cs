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

    private OrderLock(NpgsqlConnection connection, Guid orderId)
    {
        _connection = connection;
        _orderId = orderId;
    }

    /// <summary>The connection that holds the lock; do the order's reads and writes on it.</summary>
    public NpgsqlConnection Connection => _connection;

    public static async Task<OrderLock> AcquireAsync(NpgsqlDataSource dataSource, Guid orderId, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_advisory_lock({KeySql})", connection);
            command.Parameters.AddWithValue("order", orderId);
            await command.ExecuteNonQueryAsync(cancellationToken);
            return new OrderLock(connection, orderId);
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    /// <returns>The lock, or null at once when someone else holds it.</returns>
    public static async Task<OrderLock?> TryAcquireAsync(NpgsqlDataSource dataSource, Guid orderId, CancellationToken cancellationToken)
    {
        var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        try
        {
            await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({KeySql})", connection);
            command.Parameters.AddWithValue("order", orderId);
            if ((bool)(await command.ExecuteScalarAsync(cancellationToken))!)
            {
                return new OrderLock(connection, orderId);
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
        }
    }
}
