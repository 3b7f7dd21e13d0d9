using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;

namespace TicketSaga.PaymentService.Tests;

/// <summary>What the relay takes from the shared outbox: each order's oldest unpublished row, and only it.</summary>
public sealed class OutboxRelayTests(PostgresServer postgres)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Only_the_oldest_unpublished_row_of_each_order_is_taken_even_while_another_relay_holds_it()
    {
        var database = await postgres.CreateDatabaseAsync("outbox_heads");
        await new DatabaseMigrator(database, [typeof(OutboxRelay).Assembly], NullLogger<DatabaseMigrator>.Instance).MigrateAsync(Cancel);
        Guid paid = Guid.NewGuid(), expired = Guid.NewGuid(), quiet = Guid.NewGuid();
        var rows = new[]
        {
            (Order: quiet, Topic: "orders.order.created", Published: true),
            (Order: paid, Topic: "orders.order.created", Published: false),
            (Order: expired, Topic: "orders.order.created", Published: true),
            (Order: paid, Topic: "orders.order.completed", Published: false),
            (Order: expired, Topic: "orders.order.cancelled", Published: false),
            (Order: quiet, Topic: "orders.order.cancelled", Published: false),
        };
        await using var writer = new NpgsqlConnection(database);
        await writer.OpenAsync(Cancel);
        foreach (var (order, topic, published) in rows)
        {
            await using var insert = new NpgsqlCommand(
                "INSERT INTO outbox (id, order_id, topic, payload, published_at) VALUES (gen_random_uuid(), $1, $2, '{}', CASE WHEN $3 THEN now() END)", writer);
            insert.Parameters.Add(new() { Value = order });
            insert.Parameters.Add(new() { Value = topic });
            insert.Parameters.Add(new() { Value = published });
            await insert.ExecuteNonQueryAsync(Cancel);
        }

        Assert.Equal(
            [(paid, "orders.order.created"), (expired, "orders.order.cancelled"), (quiet, "orders.order.cancelled")],
            await TakeAsync(database, batch: 10));

        // Another relay holds paid's head: its second row still waits, the other heads are taken.
        await using var other = new NpgsqlConnection(database);
        await other.OpenAsync(Cancel);
        await using var holding = await other.BeginTransactionAsync(Cancel);
        await using (var hold = new NpgsqlCommand("SELECT id FROM outbox WHERE order_id = $1 AND topic = 'orders.order.created' FOR UPDATE", other, holding))
        {
            hold.Parameters.Add(new() { Value = paid });
            await hold.ExecuteNonQueryAsync(Cancel);
        }

        Assert.Equal([(expired, "orders.order.cancelled"), (quiet, "orders.order.cancelled")], await TakeAsync(database, batch: 10));
        Assert.Equal([(expired, "orders.order.cancelled")], await TakeAsync(database, batch: 1));
    }

    private static async Task<List<(Guid Order, string Topic)>> TakeAsync(string database, int batch)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(Cancel);
        await using var transaction = await connection.BeginTransactionAsync(Cancel);
        await using var take = new NpgsqlCommand(OutboxRelay.TakeHeadsSql, connection, transaction);
        take.Parameters.AddWithValue("batch", batch);
        var taken = new List<(Guid Order, string Topic)>();
        await using var reader = await take.ExecuteReaderAsync(Cancel);
        while (await reader.ReadAsync(Cancel))
        {
            taken.Add((reader.GetGuid(1), reader.GetString(2)));
        }

        return taken;
    }
}
