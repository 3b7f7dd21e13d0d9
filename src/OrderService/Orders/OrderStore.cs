using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TicketSaga.Contracts;
using TicketSaga.Outbox;

namespace TicketSaga.OrderService.Orders;

/// <summary>
/// The orders database: every status change of an order and the event announcing it are written in
/// one transaction (the outbox), and every handled message is remembered (the inbox).
/// </summary>
public sealed class OrderStore(NpgsqlDataSource dataSource, OutboxSignal outboxSignal, TimeProvider clock)
{
    private const string Columns =
        "order_id, user_id, ticket_id, reservation_id, qty, seat_plan_id, seats, amount_minor, currency, status, cancellation_reason, expires_at, created_at, coalesce(payment_captured_at <= expires_at, false)";

    /// <summary>
    /// The order and its orders.order.created event, in one transaction; once only, should two attempts
    /// of one Idempotency-Key place the same order.
    /// </summary>
    public async Task CreateAsync(Order order, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var insert = new NpgsqlCommand(
            """
            INSERT INTO orders (order_id, user_id, ticket_id, reservation_id, qty, seat_plan_id, seats, amount_minor, currency, status, expires_at, created_at)
            VALUES (@order, @user, @ticket, @reservation, @qty, @plan, @seats, @amount, @currency, @status, @expires, @created)
            ON CONFLICT (order_id) DO NOTHING
            """, connection, transaction))
        {
            insert.Parameters.AddWithValue("order", order.OrderId);
            insert.Parameters.AddWithValue("user", order.UserId);
            insert.Parameters.AddWithValue("ticket", order.TicketId);
            insert.Parameters.AddWithValue("reservation", order.ReservationId);
            insert.Parameters.AddWithValue("qty", order.Qty);
            insert.Parameters.AddWithValue("plan", (object?)order.SeatPlanId ?? DBNull.Value);
            insert.Parameters.AddWithValue("seats", NpgsqlDbType.Jsonb, JsonSerializer.Serialize(order.Seats, EventJson.Options));
            insert.Parameters.AddWithValue("amount", order.AmountMinor);
            insert.Parameters.AddWithValue("currency", order.Currency);
            insert.Parameters.AddWithValue("status", order.Status);
            insert.Parameters.AddWithValue("expires", order.ExpiresAt);
            insert.Parameters.AddWithValue("created", order.CreatedAt);
            if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                return;
            }
        }

        await OutboxWriter.AddAsync(transaction, order.OrderId, Topics.OrderCreated, new OrderCreated(
            order.OrderId, order.UserId, order.TicketId, order.Qty, [.. order.Seats.Select(s => s.SeatId)],
            order.AmountMinor, order.Currency, order.ExpiresAt, order.CreatedAt), cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outboxSignal.Notify();
    }

    public async Task<Order?> GetAsync(Guid orderId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"SELECT {Columns} FROM orders WHERE order_id = @order");
        command.Parameters.AddWithValue("order", orderId);
        return (await ReadOrdersAsync(command, cancellationToken)).SingleOrDefault();
    }

    /// <summary>A user's orders, newest first (ids are UUID v7, so id order is creation order), before a cursor.</summary>
    public async Task<IReadOnlyList<Order>> ListForUserAsync(string userId, Guid? before, int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM orders WHERE user_id = @user AND (@before::uuid IS NULL OR order_id < @before) ORDER BY order_id DESC LIMIT @limit");
        command.Parameters.AddWithValue("user", userId);
        command.Parameters.Add(new NpgsqlParameter("before", NpgsqlDbType.Uuid) { Value = (object?)before ?? DBNull.Value });
        command.Parameters.AddWithValue("limit", limit);
        return await ReadOrdersAsync(command, cancellationToken);
    }

    /// <summary>
    /// One page of the live orders <paramref name="sweep"/> selects, the ones that expire first first, after
    /// <paramref name="after"/> (the last order of the previous page): what the sweeper checks, page by page.
    /// </summary>
    public async Task<IReadOnlyList<Order>> ListLiveAsync(LiveOrderSweep sweep, Order? after, int limit, CancellationToken cancellationToken)
    {
        // The slice of an order is its id's last byte, random in a version 7 UUID.
        await using var command = dataSource.CreateCommand(
            $"""
            SELECT {Columns} FROM orders
            WHERE status = 'PENDING' AND created_at < @placed_before
              AND (@placed_since::timestamptz IS NULL OR created_at >= @placed_since OR expires_at < @expired_before
                   OR get_byte(uuid_send(order_id), 15) % @slices = @slice)
              AND (@after::uuid IS NULL OR (expires_at, order_id) > (@after_expires, @after))
            ORDER BY expires_at, order_id LIMIT @limit
            """);
        command.Parameters.AddWithValue("placed_before", sweep.PlacedBefore);
        command.Parameters.Add(new NpgsqlParameter("placed_since", NpgsqlDbType.TimestampTz) { Value = (object?)sweep.PlacedSince ?? DBNull.Value });
        command.Parameters.AddWithValue("expired_before", sweep.ExpiredBefore);
        command.Parameters.AddWithValue("slices", LiveOrderSweep.Slices);
        command.Parameters.AddWithValue("slice", sweep.Slice);
        command.Parameters.Add(new NpgsqlParameter("after", NpgsqlDbType.Uuid) { Value = (object?)after?.OrderId ?? DBNull.Value });
        command.Parameters.Add(new NpgsqlParameter("after_expires", NpgsqlDbType.TimestampTz) { Value = (object?)after?.ExpiresAt ?? DBNull.Value });
        command.Parameters.AddWithValue("limit", limit);
        return await ReadOrdersAsync(command, cancellationToken);
    }

    /// <summary>
    /// Finalize's last step: CONFIRMED plus orders.order.completed. Answers the status the order ends
    /// with; an order that had already ended stays ended and its payment is answered for a refund.
    /// </summary>
    public async Task<string> ConfirmAsync(Guid orderId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Only a live order becomes CONFIRMED. This conditional UPDATE (with its row lock) is what closes
        // the race between payment, expiry and cancel: whichever commits first wins, the other changes nothing.
        await using var confirm = new NpgsqlCommand(
            """
            UPDATE orders SET status = 'CONFIRMED', ended_at = @now
            WHERE order_id = @order AND status = 'PENDING'
            RETURNING user_id
            """, connection, transaction);
        confirm.Parameters.AddWithValue("order", orderId);
        confirm.Parameters.AddWithValue("now", now);
        if (await confirm.ExecuteScalarAsync(cancellationToken) is string userId)
        {
            await OutboxWriter.AddAsync(transaction, orderId, Topics.OrderCompleted, new OrderCompleted(orderId, userId, now), cancellationToken);
            await transaction.CommitAsync(cancellationToken);
            outboxSignal.Notify();
            return OrderStatuses.Confirmed;
        }

        var status = await LockStatusAsync(transaction, orderId, cancellationToken);
        if (status != OrderStatuses.Confirmed)
        {
            await AnswerPaymentAfterEndAsync(transaction, orderId, now, cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        outboxSignal.Notify();
        return status;
    }

    /// <summary>
    /// Compensation's last step: EXPIRED or CANCELLED plus orders.order.cancelled with the reason. A
    /// payment already reported for the order is answered too (PAYMENT_AFTER_END), once.
    /// </summary>
    public async Task<string> EndAsync(Guid orderId, string status, string reason, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Only a live order ends here (see ConfirmAsync): a CONFIRMED order ignores a late expiry.
        await using var end = new NpgsqlCommand(
            """
            UPDATE orders SET status = @status, cancellation_reason = @reason, ended_at = @now,
                payment_after_end_at = CASE WHEN payment_id IS NOT NULL OR @reason = 'PAYMENT_AFTER_END' THEN @now END
            WHERE order_id = @order AND status = 'PENDING'
            RETURNING user_id, payment_id IS NOT NULL AND @reason <> 'PAYMENT_AFTER_END'
            """, connection, transaction);
        end.Parameters.AddWithValue("order", orderId);
        end.Parameters.AddWithValue("status", status);
        end.Parameters.AddWithValue("reason", reason);
        end.Parameters.AddWithValue("now", now);
        string? userId = null;
        var paymentToAnswer = false;
        await using (var reader = await end.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                userId = reader.GetString(0);
                paymentToAnswer = reader.GetBoolean(1);
            }
        }

        if (userId is null)
        {
            return await LockStatusAsync(transaction, orderId, cancellationToken);
        }

        await OutboxWriter.AddAsync(transaction, orderId, Topics.OrderCancelled, new OrderCancelled(orderId, userId, reason, now), cancellationToken);
        if (paymentToAnswer)
        {
            // The payment's event came while the order was live but the saga ended it otherwise: refund it.
            await OutboxWriter.AddAsync(transaction, orderId, Topics.OrderCancelled,
                new OrderCancelled(orderId, userId, CancellationReasons.PaymentAfterEnd, now), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        outboxSignal.Notify();
        return status;
    }

    /// <summary>
    /// Records a refund of the order's payment (the inbox row in the same transaction): a PENDING or
    /// CONFIRMED order now owes its stock back, kept in refund_id until the order is REFUNDED. Answers the
    /// order's status when it owes its stock; null when the order had ended otherwise (its money was
    /// answered already: nothing changes) or another delivery of the message got there first.
    /// </summary>
    public async Task<string?> RecordRefundAsync(string messageId, PaymentRefunded refund, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await InsertInboxAsync(transaction, messageId, Topics.PaymentRefunded, refund.OrderId, cancellationToken))
        {
            return null;
        }

        // A PENDING order is recorded too: should its saga confirm it after all, the refund sweeper returns its stock.
        await using var record = new NpgsqlCommand(
            """
            UPDATE orders SET refund_id = coalesce(refund_id, @refund)
            WHERE order_id = @order AND status IN ('PENDING', 'CONFIRMED')
            RETURNING status
            """, connection, transaction);
        record.Parameters.AddWithValue("order", refund.OrderId);
        record.Parameters.AddWithValue("refund", refund.RefundId);
        var status = await record.ExecuteScalarAsync(cancellationToken) as string;
        await transaction.CommitAsync(cancellationToken);
        return status;
    }

    /// <summary>CONFIRMED orders with a refund recorded whose stock is not back yet: what the refund sweeper checks.</summary>
    public async Task<IReadOnlyList<Order>> ListRefundOwedAsync(int limit, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            $"SELECT {Columns} FROM orders WHERE status = 'CONFIRMED' AND refund_id IS NOT NULL ORDER BY order_id LIMIT @limit");
        command.Parameters.AddWithValue("limit", limit);
        return await ReadOrdersAsync(command, cancellationToken);
    }

    /// <summary>
    /// A refund's last step, once the order's quota and seats are back in stock: REFUNDED plus
    /// orders.order.refunded in one transaction. Answers the status the order ends with.
    /// </summary>
    public async Task<string> RefundAsync(Guid orderId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // Only a CONFIRMED order with a recorded refund becomes REFUNDED, once: a retried activity changes nothing.
        await using var refund = new NpgsqlCommand(
            """
            UPDATE orders SET status = 'REFUNDED', refunded_at = @now
            WHERE order_id = @order AND status = 'CONFIRMED' AND refund_id IS NOT NULL
            RETURNING user_id, refund_id, amount_minor, currency
            """, connection, transaction);
        refund.Parameters.AddWithValue("order", orderId);
        refund.Parameters.AddWithValue("now", now);
        OrderRefunded? refunded = null;
        await using (var reader = await refund.ExecuteReaderAsync(cancellationToken))
        {
            if (await reader.ReadAsync(cancellationToken))
            {
                refunded = new OrderRefunded(orderId, reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), now);
            }
        }

        if (refunded is null)
        {
            return await LockStatusAsync(transaction, orderId, cancellationToken);
        }

        await OutboxWriter.AddAsync(transaction, orderId, Topics.OrderRefunded, refunded, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        outboxSignal.Notify();
        return OrderStatuses.Refunded;
    }

    /// <summary>Whether a message (by CloudEvent id) was already handled.</summary>
    public async Task<bool> HasHandledAsync(string messageId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT 1 FROM inbox WHERE message_id = @id");
        command.Parameters.AddWithValue("id", messageId);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    /// <summary>Remembers a handled message; false when another delivery of it got there first.</summary>
    public async Task<bool> RecordHandledAsync(string messageId, string topic, Guid orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var first = await InsertInboxAsync(transaction, messageId, topic, orderId, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return first;
    }

    /// <summary>
    /// Records a succeeded payment against its order (the inbox row in the same transaction). When the
    /// order has already ended, the payment is answered with orders.order.cancelled (PAYMENT_AFTER_END)
    /// once per order, so that payment-service refunds it.
    /// </summary>
    public async Task RecordPaymentAsync(string messageId, PaymentSucceeded payment, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await InsertInboxAsync(transaction, messageId, Topics.PaymentSucceeded, payment.OrderId, cancellationToken))
        {
            return;
        }

        // The row lock orders this against the saga's Confirm/End: either the saga sees the payment
        // (EndAsync answers it) or this sees the ended order (answered here).
        await using var record = new NpgsqlCommand(
            """
            UPDATE orders SET payment_id = coalesce(payment_id, @payment), payment_captured_at = coalesce(payment_captured_at, @captured)
            WHERE order_id = @order RETURNING status
            """, connection, transaction);
        record.Parameters.AddWithValue("order", payment.OrderId);
        record.Parameters.AddWithValue("payment", payment.PaymentId);
        record.Parameters.AddWithValue("captured", payment.SucceededAt);
        var status = await record.ExecuteScalarAsync(cancellationToken) as string;
        if (status is OrderStatuses.Expired or OrderStatuses.Cancelled)
        {
            await AnswerPaymentAfterEndAsync(transaction, payment.OrderId, clock.GetUtcNow(), cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        outboxSignal.Notify();
    }

    private static async Task AnswerPaymentAfterEndAsync(NpgsqlTransaction transaction, Guid orderId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // Once per order: the first late payment is answered, any redelivery or retry finds it set.
        await using var mark = new NpgsqlCommand(
            """
            UPDATE orders SET payment_after_end_at = @now
            WHERE order_id = @order AND status IN ('EXPIRED', 'CANCELLED') AND payment_after_end_at IS NULL
            RETURNING user_id
            """, transaction.Connection, transaction);
        mark.Parameters.AddWithValue("order", orderId);
        mark.Parameters.AddWithValue("now", now);
        if (await mark.ExecuteScalarAsync(cancellationToken) is string userId)
        {
            await OutboxWriter.AddAsync(transaction, orderId, Topics.OrderCancelled,
                new OrderCancelled(orderId, userId, CancellationReasons.PaymentAfterEnd, now), cancellationToken);
        }
    }

    private static async Task<string> LockStatusAsync(NpgsqlTransaction transaction, Guid orderId, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand("SELECT status FROM orders WHERE order_id = @order FOR UPDATE", transaction.Connection, transaction);
        read.Parameters.AddWithValue("order", orderId);
        return await read.ExecuteScalarAsync(cancellationToken) as string
            ?? throw new InvalidOperationException($"Order {orderId} does not exist.");
    }

    private static async Task<bool> InsertInboxAsync(
        NpgsqlTransaction transaction, string messageId, string topic, Guid orderId, CancellationToken cancellationToken)
    {
        // The CloudEvent id is the key: a redelivered message inserts nothing and changes nothing.
        await using var insert = new NpgsqlCommand(
            "INSERT INTO inbox (message_id, topic, order_id) VALUES (@id, @topic, @order) ON CONFLICT (message_id) DO NOTHING",
            transaction.Connection, transaction);
        insert.Parameters.AddWithValue("id", messageId);
        insert.Parameters.AddWithValue("topic", topic);
        insert.Parameters.AddWithValue("order", orderId);
        return await insert.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// An outbox row in the caller's transaction. Every writer of an order's rows first locks the order
    /// row, so seq (taken after the lock) follows commit order within one order: the relay's order.
    /// </summary>

    private static async Task<IReadOnlyList<Order>> ReadOrdersAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var orders = new List<Order>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            orders.Add(new Order(
                reader.GetGuid(0), reader.GetString(1), reader.GetGuid(2), reader.GetGuid(3), reader.GetInt32(4),
                reader.IsDBNull(5) ? null : reader.GetGuid(5),
                JsonSerializer.Deserialize<List<OrderSeat>>(reader.GetString(6), EventJson.Options)!,
                reader.GetInt64(7), reader.GetString(8), reader.GetString(9),
                reader.IsDBNull(10) ? null : reader.GetString(10),
                reader.GetFieldValue<DateTimeOffset>(11), reader.GetFieldValue<DateTimeOffset>(12), reader.GetBoolean(13)));
        }

        return orders;
    }
}
