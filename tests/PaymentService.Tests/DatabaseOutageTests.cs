using Npgsql;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService.Tests;

/// <summary>Issue 13 d: a short outage of payment-service's database dead-letters nothing.</summary>
public sealed class DatabaseOutageTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task An_order_created_while_the_payments_database_refuses_connections_becomes_payable_once_it_is_back()
    {
        var user = PaymentWorld.NewUser();
        OrderCreated order;
        await RefuseConnectionsAsync(true);
        try
        {
            order = await world.CreateOrderAsync(user, waitUntilPayable: false);
            // Longer than the 2.4 s of retries the seed's policy allowed.
            await Task.Delay(TimeSpan.FromSeconds(6));
        }
        finally
        {
            await RefuseConnectionsAsync(false);
        }

        await PaymentWorld.EventuallyAsync(async () => await world.PaymentStatusAsync(order.OrderId) == "PENDING", "the payment row", seconds: 60);
        await using var connection = new NpgsqlConnection(world.RuntimeConnectionString);
        await connection.OpenAsync();
        await using var deadLetters = new NpgsqlCommand(
            "SELECT count(*) FROM pubsub_dead_letters WHERE app_id = 'payment-service' AND cloud_event->'data'->>'orderId' = @order", connection);
        deadLetters.Parameters.AddWithValue("order", order.OrderId.ToString());
        Assert.Equal(0L, (long)(await deadLetters.ExecuteScalarAsync())!);
    }

    /// <summary>What a database restart looks like to the service: its sessions cut, new ones refused.</summary>
    private async Task RefuseConnectionsAsync(bool refuse)
    {
        var database = new NpgsqlConnectionStringBuilder(world.ConnectionString).Database!;
        await using var admin = new NpgsqlConnection(world.RuntimeConnectionString);
        await admin.OpenAsync();
        await using var alter = new NpgsqlCommand($"ALTER DATABASE \"{database}\" WITH ALLOW_CONNECTIONS {(refuse ? "false" : "true")}", admin);
        await alter.ExecuteNonQueryAsync();
        if (refuse)
        {
            await using var terminate = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = @database", admin);
            terminate.Parameters.AddWithValue("database", database);
            await terminate.ExecuteScalarAsync();
        }
        else
        {
            // The test's own pooled sessions were cut too.
            await using var payments = new NpgsqlConnection(world.ConnectionString);
            NpgsqlConnection.ClearPool(payments);
        }
    }
}
