using Microsoft.Extensions.Options;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.Outbox;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.PaymentService;

/// <summary>Settings under <c>OrderReconciliation</c>: when order-service is asked how an order ended.</summary>
public sealed class OrderReconciliationOptions
{
    public const string SectionName = "OrderReconciliation";

    /// <summary>
    /// How long after a payment's expires_at (or a refund) its order's word may still be on its way: the
    /// settle window (60 s), the outbox relay and the three delivery retries (about 40 s), with room to spare.
    /// </summary>
    public TimeSpan After { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often due payments and refunds are looked for; an order-service that did not answer is asked again at this pace.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The most orders asked about in one pass.</summary>
    public int BatchSize { get; set; } = 100;
}

/// <summary>
/// Makes payment-service agree with order-service when a message between them was dead-lettered (an
/// outage longer than the delivery retries): once a payment's order must have ended, order-service is
/// asked how. An order that ended unsold while its payment did not hear of it ends here as its
/// orders.order.cancelled would have ended it (payment_work cancels the intent or refunds the capture);
/// a refund whose CONFIRMED order did not take it is announced again. Each payment and each refund is
/// settled with one question when all went well; rows are claimed with SKIP LOCKED, so replicas share them.
/// </summary>
public sealed partial class OrderReconciler(
    NpgsqlDataSource dataSource, OrderDirectory orders, OrderCancellation cancellation, PaymentStore store,
    TimeProvider clock, IOptions<OrderReconciliationOptions> options, ILogger<OrderReconciler> logger)
    : PeriodicPass(options.Value.Interval, clock, logger)
{
    protected override async Task RunPassAsync(CancellationToken cancellationToken)
    {
        await ReconcilePaymentsAsync(options.Value, cancellationToken);
        await ReconcileRefundsAsync(options.Value, cancellationToken);
    }

    private async Task ReconcilePaymentsAsync(OrderReconciliationOptions settings, CancellationToken cancellationToken)
    {
        var due = new List<(Guid OrderId, string UserId)>();
        await using (var claim = dataSource.CreateCommand(
            """
            UPDATE payments SET next_order_check_at = now() + @interval
            WHERE order_id IN (
                SELECT order_id FROM payments
                WHERE ended_at IS NULL AND order_checked_at IS NULL AND status IN ('PENDING', 'REQUIRES_ACTION', 'SUCCEEDED')
                  AND COALESCE(next_order_check_at, expires_at + @after) <= now()
                ORDER BY expires_at LIMIT @batch FOR UPDATE SKIP LOCKED)
            RETURNING order_id, user_id
            """))
        {
            AddClaimParameters(claim, settings);
            await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add((reader.GetGuid(0), reader.GetString(1)));
            }
        }

        foreach (var (orderId, userId) in due)
        {
            var state = await orders.StateAsync(orderId, cancellationToken);
            switch (state?.Status)
            {
                case null or OrderStatuses.Pending:
                    // No answer, or a saga still deciding past its deadline: asked again next interval.
                    continue;
                case OrderStatuses.Expired or OrderStatuses.Cancelled:
                    var reason = state.CancellationReason ?? state.Status;
                    LogEndedUnheard(Logger, orderId, reason);
                    await cancellation.EndAsync(new OrderCancelled(orderId, userId, reason, DateTimeOffset.UtcNow), cloudEventId: null, cancellationToken);
                    break;
                case OrderDirectory.Unknown:
                    LogUnknownOrder(Logger, orderId);
                    break;
            }

            await MarkCheckedAsync("payments", orderId, cancellationToken);
        }
    }

    private async Task ReconcileRefundsAsync(OrderReconciliationOptions settings, CancellationToken cancellationToken)
    {
        var due = new List<PaymentRefunded>();
        await using (var claim = dataSource.CreateCommand(
            """
            UPDATE refunds SET next_order_check_at = now() + @interval
            WHERE refund_id IN (
                SELECT refund_id FROM refunds
                WHERE order_checked_at IS NULL AND COALESCE(next_order_check_at, refunded_at + @after) <= now()
                ORDER BY refunded_at LIMIT @batch FOR UPDATE SKIP LOCKED)
            RETURNING order_id, payment_id, payment_intent_id, refund_id, amount_minor, currency, refunded_at
            """))
        {
            AddClaimParameters(claim, settings);
            await using var reader = await claim.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                due.Add(new PaymentRefunded(reader.GetGuid(0), reader.GetGuid(1), reader.GetString(2), reader.GetString(3), reader.GetInt64(4),
                    reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6)));
            }
        }

        foreach (var refund in due)
        {
            switch ((await orders.StateAsync(refund.OrderId, cancellationToken))?.Status)
            {
                case null or OrderStatuses.Pending:
                    continue;
                case OrderStatuses.Confirmed:
                    // Sold, with its money back: order-service never took the refund. A new message (its own
                    // CloudEvent id) asks again; the order is asked about once more after the delay.
                    LogRefundAnnouncedAgain(Logger, refund.OrderId, refund.RefundId);
                    await AnnounceAgainAsync(refund, settings.After, cancellationToken);
                    continue;
            }

            await MarkCheckedAsync("refunds", refund.OrderId, cancellationToken);
        }
    }

    private async Task AnnounceAgainAsync(PaymentRefunded refund, TimeSpan after, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await using (var later = new NpgsqlCommand("UPDATE refunds SET next_order_check_at = now() + @after WHERE refund_id = @refund", connection, transaction))
        {
            later.Parameters.AddWithValue("refund", refund.RefundId);
            later.Parameters.AddWithValue("after", after);
            await later.ExecuteNonQueryAsync(cancellationToken);
        }

        await OutboxWriter.AddAsync(transaction, refund.OrderId, Topics.PaymentRefunded, refund, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        store.WakeOutboxRelay();
    }

    private async Task MarkCheckedAsync(string table, Guid orderId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand($"UPDATE {table} SET order_checked_at = now() WHERE order_id = @order");
        command.Parameters.AddWithValue("order", orderId);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static void AddClaimParameters(NpgsqlCommand claim, OrderReconciliationOptions settings)
    {
        claim.Parameters.AddWithValue("interval", settings.Interval);
        claim.Parameters.AddWithValue("after", settings.After);
        claim.Parameters.AddWithValue("batch", settings.BatchSize);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Order {OrderId} ended ({Reason}) without its cancellation reaching payment-service (dead-lettered?): ending its payment now")]
    private static partial void LogEndedUnheard(ILogger logger, Guid orderId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "order-service still has order {OrderId} CONFIRMED after refund {RefundId}: announcing the refund again")]
    private static partial void LogRefundAnnouncedAgain(ILogger logger, Guid orderId, string refundId);

    [LoggerMessage(Level = LogLevel.Error, Message = "order-service does not know order {OrderId}, which has a payment here; nothing is changed")]
    private static partial void LogUnknownOrder(ILogger logger, Guid orderId);
}
