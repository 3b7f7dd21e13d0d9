using TicketSaga.Outbox;
using System.Text.Json;
using Npgsql;
using NpgsqlTypes;
using TicketSaga.Contracts;

namespace TicketSaga.PaymentService;

/// <summary>The payments database: plain SQL, always parameters. Writes take the caller's transaction.</summary>
public sealed class PaymentStore(NpgsqlDataSource dataSource, OutboxSignal outboxSignal)
{
    public const string PubSubInbox = "pubsub";
    public const string StripeInbox = "stripe";

    private const string PaymentColumns = """
        payment_id, order_id, user_id, amount_minor, currency, expires_at, status, payment_intent_id,
        attempt, attempt_payment_method, attempt_in_flight, last_decline_code, expires_at <= now(), ended_at IS NOT NULL
        """;

    public NpgsqlDataSource DataSource => dataSource;

    public static async Task<Payment?> FindAsync(NpgsqlConnection connection, Guid orderId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"SELECT {PaymentColumns} FROM payments WHERE order_id = @order", connection);
        command.Parameters.AddWithValue("order", orderId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? Read(reader) : null;
    }

    public async Task<Payment?> FindAsync(Guid orderId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await FindAsync(connection, orderId, cancellationToken);
    }

    public async Task<Guid?> OrderOfIntentAsync(string paymentIntentId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand("SELECT order_id FROM payments WHERE payment_intent_id = @intent");
        command.Parameters.AddWithValue("intent", paymentIntentId);
        return await command.ExecuteScalarAsync(cancellationToken) as Guid?;
    }

    /// <summary>
    /// orders.order.created: the payable row. A row already there (a redelivery, or the order's
    /// cancellation that arrived first) keeps its status; only missing amounts are filled in.
    /// </summary>
    public async Task CreatePaymentAsync(string cloudEventId, OrderCreated order, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await TryRecordInboxAsync(connection, transaction, PubSubInbox, cloudEventId, cancellationToken))
        {
            return;
        }

        await InsertPayableAsync(connection, transaction, order.OrderId, order.UserId, order.AmountMinor, order.Currency, order.ExpiresAt, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
    }

    /// <summary>The payable row of an order order-service vouches for, whose orders.order.created has not arrived.</summary>
    public async Task CreatePaymentAsync(Guid orderId, string userId, long amountMinor, string currency, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await InsertPayableAsync(connection, transaction: null, orderId, userId, amountMinor, currency, expiresAt, cancellationToken);
    }

    private static async Task InsertPayableAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, Guid orderId, string userId, long amountMinor, string currency, DateTimeOffset expiresAt,
        CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO payments (payment_id, order_id, idempotency_key, user_id, amount_minor, currency, expires_at, status)
            VALUES (@payment, @order, @order::text, @user, @amount, @currency, @expires, 'PENDING')
            ON CONFLICT (order_id) DO UPDATE
                SET amount_minor = EXCLUDED.amount_minor, currency = EXCLUDED.currency, expires_at = EXCLUDED.expires_at, updated_at = now()
                WHERE payments.amount_minor IS NULL
            """, connection, transaction);
        insert.Parameters.AddWithValue("payment", Guid.CreateVersion7());
        insert.Parameters.AddWithValue("order", orderId);
        insert.Parameters.AddWithValue("user", userId);
        insert.Parameters.AddWithValue("amount", amountMinor);
        insert.Parameters.AddWithValue("currency", currency.ToUpperInvariant());
        insert.Parameters.AddWithValue("expires", expiresAt);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// orders.order.cancelled: the payment takes no attempt any more. A payment of which nothing ever
    /// reached Stripe (no row yet, or no PaymentIntent and no attempt whose answer was lost) is CANCELLED
    /// at once; any other keeps its status until payment_work has asked Stripe. Callers hold the order's lock,
    /// so no attempt is under way.
    /// </summary>
    /// <returns>Whether Stripe may hold money or an intent of the order: then payment_work must settle it.</returns>
    public static async Task<bool> EndAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, OrderCancelled order, CancellationToken cancellationToken)
    {
        // An upsert, not read-then-insert: a creation committing meanwhile is updated, never left payable.
        await using var upsert = new NpgsqlCommand(
            """
            INSERT INTO payments (payment_id, order_id, idempotency_key, user_id, status, cancellation_reason, ended_at)
            VALUES (@payment, @order, @order::text, @user, 'CANCELLED', @reason, now())
            ON CONFLICT (order_id) DO UPDATE
                SET ended_at = COALESCE(payments.ended_at, now()),
                    cancellation_reason = COALESCE(payments.cancellation_reason, EXCLUDED.cancellation_reason),
                    status = CASE WHEN payments.payment_intent_id IS NULL AND NOT payments.attempt_in_flight AND payments.status IN ('PENDING', 'REQUIRES_ACTION')
                                  THEN 'CANCELLED' ELSE payments.status END,
                    updated_at = now()
            RETURNING payment_intent_id IS NOT NULL OR attempt_in_flight
            """, connection, transaction);
        upsert.Parameters.AddWithValue("payment", Guid.CreateVersion7());
        upsert.Parameters.AddWithValue("order", order.OrderId);
        upsert.Parameters.AddWithValue("user", order.UserId);
        upsert.Parameters.AddWithValue("reason", order.Reason);
        return (bool)(await upsert.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// Records the next attempt (and its payment method) before Stripe is called, so a retry replays it;
    /// and in payment_attempts, where it stays when the next one starts.
    /// </summary>
    public static async Task<int> BeginAttemptAsync(NpgsqlConnection connection, Guid paymentId, string paymentMethod, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            WITH next AS (
                UPDATE payments SET attempt = attempt + 1, attempt_payment_method = @method, attempt_in_flight = true, updated_at = now()
                WHERE payment_id = @payment RETURNING attempt)
            INSERT INTO payment_attempts (payment_id, attempt) SELECT @payment, attempt FROM next RETURNING attempt
            """, connection);
        command.Parameters.AddWithValue("payment", paymentId);
        command.Parameters.AddWithValue("method", paymentMethod);
        return (int)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    /// <summary>
    /// The PaymentIntent an attempt created, committed before it is confirmed: a confirm whose answer is lost
    /// then leaves an intent this service can read, cancel or refund.
    /// </summary>
    public static async Task RecordIntentAsync(NpgsqlConnection connection, Guid paymentId, string paymentIntentId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "UPDATE payments SET payment_intent_id = @intent, updated_at = now() WHERE payment_id = @payment AND payment_intent_id IS NULL", connection);
        command.Parameters.AddWithValue("payment", paymentId);
        command.Parameters.AddWithValue("intent", paymentIntentId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Stripe answered the attempt without capturing money: the order stays payable (status PENDING or
    /// REQUIRES_ACTION), and the attempt keeps what Stripe said.
    /// </summary>
    public static async Task EndAttemptAsync(
        NpgsqlConnection connection, Guid paymentId, string? paymentIntentId, string? status, AttemptEnd end, CancellationToken cancellationToken)
    {
        // Only a payable row changes status: a webhook may have settled the payment meanwhile.
        await using var command = new NpgsqlCommand(
            """
            WITH ended AS (
                UPDATE payments
                SET attempt_in_flight = false,
                    payment_intent_id = COALESCE(@intent, payment_intent_id),
                    status = CASE WHEN @status IS NOT NULL AND status IN ('PENDING', 'REQUIRES_ACTION') THEN @status ELSE status END,
                    last_decline_code = COALESCE(@decline, last_decline_code),
                    updated_at = now()
                WHERE payment_id = @payment RETURNING attempt)
            UPDATE payment_attempts a SET outcome = @outcome, decline_code = @decline, message = @message, ended_at = now()
            FROM ended WHERE a.payment_id = @payment AND a.attempt = ended.attempt
            """, connection);
        command.Parameters.AddWithValue("payment", paymentId);
        command.Parameters.Add(new NpgsqlParameter<string?>("intent", NpgsqlDbType.Text) { TypedValue = paymentIntentId });
        command.Parameters.Add(new NpgsqlParameter<string?>("status", NpgsqlDbType.Text) { TypedValue = status });
        command.Parameters.Add(new NpgsqlParameter<string?>("decline", NpgsqlDbType.Text) { TypedValue = end.DeclineCode });
        command.Parameters.AddWithValue("outcome", end.Outcome);
        command.Parameters.Add(new NpgsqlParameter<string?>("message", NpgsqlDbType.Text) { TypedValue = end.Message });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Every attempt to pay the order, oldest first; none for an order this service does not know.</summary>
    public async Task<List<PaymentAttempt>> AttemptsAsync(Guid orderId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT a.attempt, a.started_at, a.outcome, a.decline_code, a.message, a.ended_at
            FROM payment_attempts a JOIN payments p ON p.payment_id = a.payment_id
            WHERE p.order_id = @order ORDER BY a.attempt
            """);
        command.Parameters.AddWithValue("order", orderId);
        var attempts = new List<PaymentAttempt>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            string? Text(int column) => reader.IsDBNull(column) ? null : reader.GetString(column);
            attempts.Add(new PaymentAttempt(reader.GetInt32(0), reader.GetFieldValue<DateTimeOffset>(1), Text(2), Text(3), Text(4),
                reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5)));
        }

        return attempts;
    }

    /// <summary>A PaymentIntent that can no longer be confirmed (cancelled at Stripe): the next attempt starts a new one.</summary>
    public static async Task ForgetIntentAsync(NpgsqlConnection connection, Guid paymentId, string paymentIntentId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE payments SET payment_intent_id = NULL, status = 'PENDING', updated_at = now()
            WHERE payment_id = @payment AND payment_intent_id = @intent AND status IN ('PENDING', 'REQUIRES_ACTION')
            """, connection);
        command.Parameters.AddWithValue("payment", paymentId);
        command.Parameters.AddWithValue("intent", paymentIntentId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Money captured: SUCCEEDED, its payment_records row and payments.payment.succeeded, once.
    /// <paramref name="capturedAt"/> is when Stripe captured it, which decides whether it bought the order.
    /// </summary>
    public static async Task<PaymentSucceeded?> MarkSucceededAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Payment payment, string paymentIntentId, long amountMinor, string currency,
        DateTimeOffset capturedAt, CancellationToken cancellationToken)
    {
        // The status guard makes success happen once, whichever of confirm and webhook comes first;
        // money for an ended order is never a sale.
        await using var update = new NpgsqlCommand(
            """
            UPDATE payments SET status = 'SUCCEEDED', payment_intent_id = @intent, attempt_in_flight = false, updated_at = now()
            WHERE payment_id = @payment AND status IN ('PENDING', 'REQUIRES_ACTION') AND ended_at IS NULL
            """, connection, transaction);
        update.Parameters.AddWithValue("payment", payment.PaymentId);
        update.Parameters.AddWithValue("intent", paymentIntentId);
        if (await update.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return null;
        }

        // The latest attempt is the one that captured (a 3D Secure one ends here, through the webhook).
        await using (var captured = new NpgsqlCommand(
            """
            UPDATE payment_attempts a SET outcome = 'SUCCEEDED', decline_code = NULL, message = NULL, ended_at = now()
            FROM payments p WHERE p.payment_id = @payment AND a.payment_id = p.payment_id AND a.attempt = p.attempt
            """, connection, transaction))
        {
            captured.Parameters.AddWithValue("payment", payment.PaymentId);
            await captured.ExecuteNonQueryAsync(cancellationToken);
        }

        var succeeded = new PaymentSucceeded(payment.OrderId, payment.PaymentId, paymentIntentId, amountMinor, currency.ToUpperInvariant(), capturedAt);
        await InsertPaymentRecordAsync(connection, transaction, payment, paymentIntentId, amountMinor, succeeded.Currency, succeeded.SucceededAt, cancellationToken);
        await OutboxWriter.AddAsync(transaction, payment.OrderId, Topics.PaymentSucceeded, succeeded, cancellationToken);
        return succeeded;
    }

    /// <summary>Money given back in full: REFUNDED, the refunds row and payments.payment.refunded, once.</summary>
    public static async Task<bool> MarkRefundedAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Payment payment, PaymentRefunded refunded, string reason, CancellationToken cancellationToken)
    {
        // Captured money appears in payment_records even when the order had ended before the capture
        // (recorded here, never announced: only payments.payment.refunded is published).
        await InsertPaymentRecordAsync(connection, transaction, payment, refunded.PaymentIntentId, refunded.AmountMinor, refunded.Currency, refunded.RefundedAt, cancellationToken);

        // One refund per payment: the unique payment_id makes a second one a no-op.
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO refunds (refund_id, payment_id, order_id, payment_intent_id, amount_minor, currency, reason, refunded_at)
            VALUES (@refund, @payment, @order, @intent, @amount, @currency, @reason, @at)
            ON CONFLICT DO NOTHING
            """, connection, transaction);
        insert.Parameters.AddWithValue("refund", refunded.RefundId);
        insert.Parameters.AddWithValue("payment", payment.PaymentId);
        insert.Parameters.AddWithValue("order", payment.OrderId);
        insert.Parameters.AddWithValue("intent", refunded.PaymentIntentId);
        insert.Parameters.AddWithValue("amount", refunded.AmountMinor);
        insert.Parameters.AddWithValue("currency", refunded.Currency);
        insert.Parameters.AddWithValue("reason", reason);
        insert.Parameters.AddWithValue("at", refunded.RefundedAt);
        if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
        {
            return false;
        }

        await using var update = new NpgsqlCommand(
            """
            UPDATE payments SET status = 'REFUNDED', payment_intent_id = @intent, attempt_in_flight = false,
                cancellation_reason = COALESCE(cancellation_reason, @reason), updated_at = now()
            WHERE payment_id = @payment
            """, connection, transaction);
        update.Parameters.AddWithValue("payment", payment.PaymentId);
        update.Parameters.AddWithValue("intent", refunded.PaymentIntentId);
        update.Parameters.AddWithValue("reason", reason);
        await update.ExecuteNonQueryAsync(cancellationToken);
        await OutboxWriter.AddAsync(transaction, payment.OrderId, Topics.PaymentRefunded, refunded, cancellationToken);
        return true;
    }

    /// <summary>Stripe has said that the ended order's money was not captured: never payable again.</summary>
    public static async Task MarkCancelledAsync(NpgsqlConnection connection, Guid paymentId, string reason, CancellationToken cancellationToken)
    {
        // A captured payment is refunded, never merely cancelled.
        await using var update = new NpgsqlCommand(
            """
            UPDATE payments SET status = 'CANCELLED', cancellation_reason = COALESCE(cancellation_reason, @reason), attempt_in_flight = false, updated_at = now()
            WHERE payment_id = @payment AND status IN ('PENDING', 'REQUIRES_ACTION')
            """, connection);
        update.Parameters.AddWithValue("payment", paymentId);
        update.Parameters.AddWithValue("reason", reason);
        await update.ExecuteNonQueryAsync(cancellationToken);
    }

    public static async Task<bool> SeenAsync(NpgsqlConnection connection, string source, string messageId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT 1 FROM inbox WHERE source = @source AND message_id = @id", connection);
        command.Parameters.AddWithValue("source", source);
        command.Parameters.AddWithValue("id", messageId);
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    public async Task<bool> SeenAsync(string source, string messageId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await SeenAsync(connection, source, messageId, cancellationToken);
    }

    /// <summary>False when the message was handled before (its effect is already committed).</summary>
    public static async Task<bool> TryRecordInboxAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string source, string messageId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            "INSERT INTO inbox (source, message_id) VALUES (@source, @id) ON CONFLICT DO NOTHING", connection, transaction);
        command.Parameters.AddWithValue("source", source);
        command.Parameters.AddWithValue("id", messageId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Wakes the relay once the transaction that wrote outbox rows has committed.</summary>
    public void WakeOutboxRelay() => outboxSignal.Notify();

    private static async Task InsertPaymentRecordAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Payment payment, string paymentIntentId, long amountMinor, string currency, DateTimeOffset capturedAt, CancellationToken cancellationToken)
    {
        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO payment_records (payment_id, order_id, payment_intent_id, amount_minor, currency, succeeded_at)
            VALUES (@payment, @order, @intent, @amount, @currency, @at)
            ON CONFLICT DO NOTHING
            """, connection, transaction);
        insert.Parameters.AddWithValue("payment", payment.PaymentId);
        insert.Parameters.AddWithValue("order", payment.OrderId);
        insert.Parameters.AddWithValue("intent", paymentIntentId);
        insert.Parameters.AddWithValue("amount", amountMinor);
        insert.Parameters.AddWithValue("currency", currency);
        insert.Parameters.AddWithValue("at", capturedAt);
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    private static Payment Read(NpgsqlDataReader reader) => new(
        reader.GetGuid(0),
        reader.GetGuid(1),
        reader.GetString(2),
        reader.IsDBNull(3) ? null : reader.GetInt64(3),
        reader.IsDBNull(4) ? null : reader.GetString(4),
        reader.IsDBNull(5) ? null : reader.GetFieldValue<DateTimeOffset>(5),
        reader.GetString(6),
        reader.IsDBNull(7) ? null : reader.GetString(7),
        reader.GetInt32(8),
        reader.IsDBNull(9) ? null : reader.GetString(9),
        reader.GetBoolean(10),
        reader.IsDBNull(11) ? null : reader.GetString(11),
        !reader.IsDBNull(12) && reader.GetBoolean(12),
        reader.GetBoolean(13));
}
