using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.PaymentService;

/// <summary>Settings under <c>PaymentWork</c>: how often due work is looked for and how a failed attempt backs off.</summary>
public sealed class PaymentWorkOptions
{
    public const string SectionName = "PaymentWork";

    /// <summary>Other replicas' new rows are found by polling; this replica's are worked at once.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The wait after the first failed attempt; it doubles with each further failure.</summary>
    public TimeSpan InitialBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two attempts: the work is retried at this pace, never given up.</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan BackoffAfter(int failedAttempts) =>
        TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(failedAttempts - 1, 30))));
}

/// <summary>One row of <c>payment_work</c>: an ended order whose money still has to be settled at Stripe.</summary>
public sealed record SettlementWork(Guid OrderId, string Reason, int Attempts, string? CapturedIntentId);

/// <summary>Wakes the runner right after a commit that wrote work.</summary>
public sealed class PaymentWorkSignal : WakeUpSignal;

/// <summary>
/// Works due <c>payment_work</c> rows one at a time until Stripe gives a definite answer: a failed
/// attempt is recorded in the row (attempts, last_error) and retried after a doubling, capped wait.
/// A row is claimed with FOR UPDATE SKIP LOCKED, so two replicas never work one order at once, and
/// worked under the order's <see cref="OrderLock"/>, so it never overlaps a confirm or a webhook.
/// </summary>
public sealed partial class PaymentWorkRunner(
    NpgsqlDataSource dataSource, OrderLocks locks, PaymentSettlement settlement, PaymentWorkSignal signal, IOptions<PaymentWorkOptions> options, ILogger<PaymentWorkRunner> logger)
    : BackgroundService
{
    /// <summary>An order busy with a confirm or a webhook is looked at again this soon, without counting an attempt.</summary>
    private static readonly TimeSpan BusyOrderDelay = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The order has ended: records that its money must be settled (in the caller's transaction) and
    /// makes settled work due again. <paramref name="capturedIntentId"/> names money Stripe took after the end.
    /// </summary>
    public static async Task AddAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid orderId, string reason, string? capturedIntentId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            INSERT INTO payment_work (order_id, reason, captured_intent_id) VALUES (@order, @reason, @captured)
            ON CONFLICT (order_id) DO UPDATE
                SET settled_at = NULL, next_attempt_at = now(),
                    captured_intent_id = COALESCE(EXCLUDED.captured_intent_id, payment_work.captured_intent_id)
            """, connection, transaction);
        command.Parameters.AddWithValue("order", orderId);
        command.Parameters.AddWithValue("reason", reason);
        command.Parameters.Add(new NpgsqlParameter<string?>("captured", NpgsqlDbType.Text) { TypedValue = capturedIntentId });
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await WorkNextAsync(settings, stoppingToken))
                {
                    await signal.WaitAsync(settings.PollInterval, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException)
            {
                // The database itself is away: the rows wait, unchanged, until it is back.
                LogWorkUnreadable(logger, ex.Message);
                await Task.Delay(settings.PollInterval, stoppingToken);
            }
        }
    }

    /// <returns>false when nothing was due.</returns>
    private async Task<bool> WorkNextAsync(PaymentWorkOptions settings, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        SettlementWork work;
        await using (var claim = new NpgsqlCommand(
            """
            SELECT order_id, reason, attempts, captured_intent_id FROM payment_work
            WHERE settled_at IS NULL AND next_attempt_at <= now()
            ORDER BY next_attempt_at
            LIMIT 1
            FOR UPDATE SKIP LOCKED
            """, connection, transaction))
        await using (var reader = await claim.ExecuteReaderAsync(cancellationToken))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                return false;
            }

            work = new SettlementWork(reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetString(3));
        }

        await using (var order = await locks.TryAcquireAsync(work.OrderId, cancellationToken))
        {
            if (order is null)
            {
                await PostponeAsync(connection, transaction, work.OrderId, BusyOrderDelay, cancellationToken);
                return true;
            }

            var attempt = work.Attempts + 1;
            try
            {
                await settlement.SettleEndedOrderAsync(order, work, cancellationToken);
                await RecordAttemptAsync(connection, transaction, work.OrderId, settled: true, error: null, TimeSpan.Zero, cancellationToken);
                LogSettled(logger, work.OrderId, work.Reason, attempt);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                // Anything short of Stripe's definite answer: try again later, never give up.
                var wait = settings.BackoffAfter(attempt);
                await RecordAttemptAsync(connection, transaction, work.OrderId, settled: false, ex.Message, wait, cancellationToken);
                LogSettlementFailed(logger, work.OrderId, attempt, wait, ex.Message);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    private static async Task RecordAttemptAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid orderId, bool settled, string? error, TimeSpan wait, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            UPDATE payment_work
            SET attempts = attempts + 1,
                settled_at = CASE WHEN @settled THEN now() END,
                last_error = COALESCE(@error, last_error),
                next_attempt_at = now() + @wait
            WHERE order_id = @order
            """, connection, transaction);
        command.Parameters.AddWithValue("order", orderId);
        command.Parameters.AddWithValue("settled", settled);
        command.Parameters.Add(new NpgsqlParameter<string?>("error", NpgsqlDbType.Text) { TypedValue = error });
        command.Parameters.AddWithValue("wait", wait);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Looks at the row again a little later without counting an attempt.</summary>
    private static async Task PostponeAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Guid orderId, TimeSpan wait, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("UPDATE payment_work SET next_attempt_at = now() + @wait WHERE order_id = @order", connection, transaction);
        command.Parameters.AddWithValue("order", orderId);
        command.Parameters.AddWithValue("wait", wait);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Settled the money of ended order {OrderId} ({Reason}) at attempt {Attempt}")]
    private static partial void LogSettled(ILogger logger, Guid orderId, string reason, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Attempt {Attempt} to settle the money of ended order {OrderId} failed; next in {Wait}: {Error}")]
    private static partial void LogSettlementFailed(ILogger logger, Guid orderId, int attempt, TimeSpan wait, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Payment work could not be read: {Error}")]
    private static partial void LogWorkUnreadable(ILogger logger, string error);
}
