using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;
using TicketSaga.Testing;

namespace TicketSaga.PaymentService.Tests;

/// <summary>The outbox's one migration, applied to payment-service's database whatever made it.</summary>
public sealed class OutboxSchemaTests(PostgresServer postgres)
{
    /// <summary>The outbox tables of the first schemas, keyed by id (order-service) and by seq (payment-service).</summary>
    public static TheoryData<string> FirstOutboxes { get; } = new(
        """
        CREATE TABLE outbox (
            id uuid PRIMARY KEY, seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE, order_id uuid NOT NULL, topic text NOT NULL,
            payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
        CREATE INDEX outbox_unpublished ON outbox (order_id, seq) WHERE published_at IS NULL;
        """,
        """
        CREATE TABLE outbox (
            seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, id uuid NOT NULL UNIQUE, order_id uuid NOT NULL, topic text NOT NULL,
            payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now(), published_at timestamptz);
        CREATE INDEX outbox_unpublished ON outbox (order_id, seq) WHERE published_at IS NULL;
        """);

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Theory]
    [MemberData(nameof(FirstOutboxes))]
    public async Task A_database_made_by_a_first_schema_ends_with_the_same_outbox_as_a_new_one_and_keeps_its_rows(string firstOutbox)
    {
        var fresh = await MigrateAsync(await postgres.CreateDatabaseAsync("outbox_fresh"));
        var existing = await postgres.CreateDatabaseAsync("outbox_existing");
        var unpublished = Guid.NewGuid();
        await ExecuteAsync(existing, $"""
            {firstOutbox}
            CREATE TABLE schema_migrations (version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
            INSERT INTO outbox (id, order_id, topic, payload) VALUES ('{unpublished}', '{Guid.NewGuid()}', 'orders.order.created', '{"{}"}');
            """);

        await MigrateAsync(existing);

        Assert.Equal(await ShapeAsync(fresh), await ShapeAsync(existing));
        await using var connection = new NpgsqlConnection(existing);
        await connection.OpenAsync(Cancel);
        await using var read = new NpgsqlCommand("SELECT id FROM outbox WHERE published_at IS NULL", connection);
        Assert.Equal(unpublished, await read.ExecuteScalarAsync(Cancel));
    }

    private static async Task<string> MigrateAsync(string connectionString)
    {
        await new DatabaseMigrator(connectionString, [typeof(OutboxRelay).Assembly, typeof(PaymentStore).Assembly], NullLogger<DatabaseMigrator>.Instance)
            .MigrateAsync(Cancel);
        return connectionString;
    }

    /// <summary>The outbox's columns, constraints and indexes as PostgreSQL describes them.</summary>
    private static async Task<string> ShapeAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Cancel);
        await using var command = new NpgsqlCommand(
            """
            SELECT string_agg(line, E'\n' ORDER BY line) FROM (
                SELECT format('column %s %s %s %s', column_name, data_type, is_nullable, is_identity) AS line
                FROM information_schema.columns WHERE table_name = 'outbox'
                UNION ALL SELECT format('constraint %s %s', conname, pg_get_constraintdef(oid)) FROM pg_constraint WHERE conrelid = 'outbox'::regclass
                UNION ALL SELECT format('index %s', indexdef) FROM pg_indexes WHERE tablename = 'outbox') shape
            """, connection);
        return (string)(await command.ExecuteScalarAsync(Cancel))!;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Cancel);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Cancel);
    }
}
