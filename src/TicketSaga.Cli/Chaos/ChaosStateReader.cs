using Npgsql;
using TicketSaga.StripeStub;

namespace TicketSaga.Cli.Chaos;

/// <summary>
/// Reads what the checker needs straight from the services' databases (orders, tickets, venues, the
/// runtime's) and from the Stripe stub's journal: the ground truth, not what the APIs say about it.
/// </summary>
internal sealed class ChaosStateReader(string postgres, string stripeJournal, string runtimeDatabase)
{
    public async Task<ChaosState> ReadAsync(ChaosEvent chaosEvent, DateTimeOffset since, TimeSpan settleWindow, CancellationToken cancellationToken)
    {
        var orders = await QueryAsync("orders",
            "SELECT order_id, status, expires_at, reservation_id, qty FROM orders WHERE ticket_id = @ticket",
            r => new ChaosOrder(r.GetGuid(0), r.GetString(1), r.GetFieldValue<DateTimeOffset>(2), r.GetGuid(3), r.GetInt32(4)),
            ("ticket", chaosEvent.TicketId), cancellationToken);
        var quotaHolds = await QueryAsync("tickets",
            "SELECT reservation_id, status, qty FROM reservations WHERE ticket_id = @ticket",
            r => new QuotaHold(r.GetGuid(0), r.GetString(1), r.GetInt32(2)),
            ("ticket", chaosEvent.TicketId), cancellationToken);
        var tickets = (await QueryAsync("tickets",
            "SELECT sum(capacity)::int, sum(available)::int, sum(held)::int, sum(sold)::int FROM ticket_quota_slots WHERE ticket_id = @ticket",
            r => new StockCount(r.GetInt32(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3)),
            ("ticket", chaosEvent.TicketId), cancellationToken)).Single();
        var seatHolds = await QueryAsync("venues",
            """
            SELECT r.reservation_id, r.status, r.quantity,
                   count(s.seat_id) FILTER (WHERE s.status = 'HELD')::int, count(s.seat_id) FILTER (WHERE s.status = 'SOLD')::int
            FROM seat_reservations r LEFT JOIN seats s ON s.reservation_id = r.reservation_id
            WHERE r.plan_id = @plan
            GROUP BY r.reservation_id, r.status, r.quantity
            """,
            r => new SeatHold(r.GetGuid(0), r.GetString(1), r.GetInt32(2), r.GetInt32(3), r.GetInt32(4)),
            ("plan", chaosEvent.SeatPlanId), cancellationToken);
        var seats = (await QueryAsync("venues",
            """
            SELECT count(*)::int, count(*) FILTER (WHERE status = 'AVAILABLE')::int,
                   count(*) FILTER (WHERE status = 'HELD')::int, count(*) FILTER (WHERE status = 'SOLD')::int
            FROM seats WHERE plan_id = @plan
            """,
            r => new StockCount(r.GetInt32(0), r.GetInt32(1), r.GetInt32(2), r.GetInt32(3)),
            ("plan", chaosEvent.SeatPlanId), cancellationToken)).Single();
        var deadLetters = await QueryAsync(runtimeDatabase,
            "SELECT app_id, topic, reason, last_error, cloud_event -> 'data' ->> 'orderId' FROM pubsub_dead_letters WHERE recorded_at >= @since",
            r => new ChaosDeadLetter(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Guid.TryParse(r.IsDBNull(4) ? null : r.GetString(4), out var id) ? id : null),
            ("since", since), cancellationToken);
        var charges = StubJournal.PaymentIntentsIn(stripeJournal)
            .Select(i => new StripeCharge(i.Id, Guid.TryParse(i.Metadata.GetValueOrDefault("order_id"), out var id) ? id : null, i.Status, i.AmountReceived, i.AmountRefunded))
            .Where(c => c.OrderId is { } id && orders.Any(o => o.OrderId == id) || c.Kept > 0 && c.OrderId is null)
            .ToList();
        return new ChaosState(orders, quotaHolds, seatHolds, charges, tickets, seats, deadLetters, DateTimeOffset.UtcNow, settleWindow);
    }

    private static readonly TimeSpan SettlePoll = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Waits until every order can have ended (hold + settle window from now) and nothing has moved for two
    /// polls in a row: null when settled, else what was still moving when <paramref name="cancellationToken"/> fired.
    /// </summary>
    public async Task<string?> WaitUntilSettledAsync(ChaosEvent chaosEvent, TimeSpan hold, TimeSpan settleWindow, CancellationToken cancellationToken)
    {
        var earliest = DateTimeOffset.UtcNow + hold + settleWindow;
        string? unsettled = "not checked";
        var quietPolls = 0;
        try
        {
            while (DateTimeOffset.UtcNow < earliest || quietPolls < 2)
            {
                await Task.Delay(SettlePoll, cancellationToken);
                try
                {
                    unsettled = await UnsettledAsync(chaosEvent, cancellationToken);
                }
                catch (NpgsqlException ex)
                {
                    unsettled = ex.Message;
                }

                quietPolls = unsettled is null ? quietPolls + 1 : 0;
            }

            return null;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return unsettled;
        }
    }

    /// <summary>
    /// What is still moving for this run's orders (earlier runs' leftovers in the same databases do not
    /// count): orders not ended, outbox rows not published, payment work not settled, messages not delivered.
    /// </summary>
    public async Task<string?> UnsettledAsync(ChaosEvent chaosEvent, CancellationToken cancellationToken)
    {
        var orders = await QueryAsync("orders", "SELECT order_id FROM orders WHERE ticket_id = @ticket", r => r.GetGuid(0), ("ticket", chaosEvent.TicketId), cancellationToken);
        var ids = orders.ToArray();
        var pending = await ScalarAsync("orders", "SELECT count(*) FROM orders WHERE order_id = ANY(@ids) AND status = 'PENDING'", ids, cancellationToken);
        var outbox = await ScalarAsync("orders", "SELECT count(*) FROM outbox WHERE order_id = ANY(@ids) AND published_at IS NULL", ids, cancellationToken)
            + await ScalarAsync("payments", "SELECT count(*) FROM outbox WHERE order_id = ANY(@ids) AND published_at IS NULL", ids, cancellationToken);
        var work = await ScalarAsync("payments", "SELECT count(*) FROM payment_work WHERE order_id = ANY(@ids) AND settled_at IS NULL", ids, cancellationToken);
        // The partition key of every event is its order id.
        var undelivered = await ScalarAsync(runtimeDatabase, "SELECT count(*) FROM pubsub_pending WHERE partition_key = ANY(@keys)", ids.Select(i => i.ToString()).ToArray(), cancellationToken);
        return pending + outbox + work + undelivered == 0
            ? null
            : $"{pending} orders PENDING, {outbox} outbox rows unpublished, {work} payment work rows open, {undelivered} deliveries pending";
    }

    private async Task<long> ScalarAsync(string database, string sql, object ids, CancellationToken cancellationToken) =>
        (await QueryAsync(database, sql, r => r.GetInt64(0), (sql.Contains("@keys", StringComparison.Ordinal) ? "keys" : "ids", ids), cancellationToken)).Single();

    private async Task<List<T>> QueryAsync<T>(string database, string sql, Func<NpgsqlDataReader, T> read, (string Name, object Value) parameter, CancellationToken cancellationToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(postgres) { Database = database, Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        if (sql.Contains('@' + parameter.Name, StringComparison.Ordinal))
        {
            command.Parameters.AddWithValue(parameter.Name, parameter.Value);
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var rows = new List<T>();
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(read(reader));
        }

        return rows;
    }
}

/// <summary>The ticket type and seat plan a chaos run sells, made for it alone.</summary>
internal sealed record ChaosEvent(Guid TicketId, Guid SeatPlanId);
