using System.Text.Json;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.PublicApi;

namespace TicketSaga.OrderService.Orders;

/// <summary>
/// An order's saga as the order row recorded it: each step's column is written once, when the step
/// happens, and kept as long as the order (unlike the inbox, which retention empties). The attempts to
/// pay that captured nothing are payment-service's record; without its answer they are left out.
/// </summary>
public sealed class OrderTimelines(NpgsqlDataSource dataSource, PaymentHistory payments)
{
    /// <summary>The timeline of the user's order; null when there is none (someone else's reads as missing).</summary>
    public async Task<OrderTimeline?> GetAsync(Guid orderId, string userId, CancellationToken cancellationToken)
    {
        // The row first, its connection back in the pool before payment-service is asked: a connection held
        // across that call would let a crowd of timeline readers starve the sagas of connections.
        if (await ReadRowAsync(orderId, userId, cancellationToken) is not { } row)
        {
            return null;
        }

        var (status, reason, qty, seats, expiresAt, createdAt, capturedAt, endedAt, paymentAfterEndAt, refundedAt) = row;
        var held = seats.Count > 0 ? $"{qty} ticket(s), seats {string.Join(", ", seats.Select(s => s.Label))}" : $"{qty} ticket(s)";
        var entries = new List<TimelineEntry>
        {
            new(TimelineSteps.Created, createdAt, $"Order placed for {qty} ticket(s)"),
            new(TimelineSteps.Held, createdAt, $"{held} held until {expiresAt:u}"),
        };
        // The attempt that captured is the payment_captured step.
        foreach (var attempt in await payments.AttemptsAsync(orderId, cancellationToken) ?? [])
        {
            if (attempt.Outcome != PaymentAttemptOutcomes.Succeeded)
            {
                entries.Add(new(TimelineSteps.PaymentAttempt, attempt.EndedAt ?? attempt.StartedAt, Describe(attempt)));
            }
        }

        if (capturedAt is { } captured)
        {
            entries.Add(new(TimelineSteps.PaymentCaptured, captured,
                captured <= expiresAt ? "Payment captured before the hold ended" : "Payment captured after the hold ended"));
        }

        if (endedAt is { } ended)
        {
            entries.Add(status is OrderStatuses.Confirmed or OrderStatuses.Refunded
                ? new(TimelineSteps.Confirmed, ended, "Tickets sold: the order is confirmed")
                : new(status == OrderStatuses.Expired ? TimelineSteps.Expired : TimelineSteps.Cancelled, ended,
                    $"Hold released ({reason ?? status}): the tickets are back on sale"));
        }

        if (paymentAfterEndAt is { } late)
        {
            entries.Add(new(TimelineSteps.PaymentAfterEnd, late, "A payment arrived after the order ended: it is refunded"));
        }

        if (refundedAt is { } refunded)
        {
            entries.Add(new(TimelineSteps.Refunded, refunded, "Payment refunded: the tickets are back on sale"));
        }

        return new OrderTimeline(orderId, status, [.. entries.OrderBy(e => e.At)]);
    }

    private async Task<TimelineRow?> ReadRowAsync(Guid orderId, string userId, CancellationToken cancellationToken)
    {
        await using var command = dataSource.CreateCommand(
            """
            SELECT status, cancellation_reason, qty, seats, expires_at, created_at,
                   payment_captured_at, ended_at, payment_after_end_at, refunded_at
            FROM orders WHERE order_id = @order AND user_id = @user
            """);
        command.Parameters.AddWithValue("order", orderId);
        command.Parameters.AddWithValue("user", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        DateTimeOffset? At(int column) => reader.IsDBNull(column) ? null : reader.GetFieldValue<DateTimeOffset>(column);
        return new TimelineRow(
            reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt32(2),
            JsonSerializer.Deserialize<List<OrderSeat>>(reader.GetString(3), EventJson.Options) ?? [],
            reader.GetFieldValue<DateTimeOffset>(4), At(5)!.Value, At(6), At(7), At(8), At(9));
    }

    private sealed record TimelineRow(
        string Status, string? Reason, int Qty, List<OrderSeat> Seats, DateTimeOffset ExpiresAt, DateTimeOffset CreatedAt,
        DateTimeOffset? CapturedAt, DateTimeOffset? EndedAt, DateTimeOffset? PaymentAfterEndAt, DateTimeOffset? RefundedAt);

    private static string Describe(PaymentAttempt attempt) => attempt.Outcome switch
    {
        PaymentAttemptOutcomes.Declined => $"Payment attempt {attempt.Attempt} declined ({attempt.DeclineCode ?? "no reason given"}): {attempt.Message}",
        PaymentAttemptOutcomes.RequiresAction => $"Payment attempt {attempt.Attempt} asked for 3D Secure authentication",
        PaymentAttemptOutcomes.Processing => $"Payment attempt {attempt.Attempt} is being processed",
        PaymentAttemptOutcomes.InvalidPaymentMethod => $"Payment attempt {attempt.Attempt} refused: the payment method cannot be used. {attempt.Message}",
        PaymentAttemptOutcomes.Rejected => $"Payment attempt {attempt.Attempt} refused by the payment provider: {attempt.Message}",
        _ => $"Payment attempt {attempt.Attempt} sent; the payment provider has not answered yet",
    };
}
