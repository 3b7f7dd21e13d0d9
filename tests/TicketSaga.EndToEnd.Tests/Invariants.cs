using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>
/// The invariants of shared/DESIGN.md, read from the services themselves (their databases, their gRPC
/// reads, the Stripe stub's ledger), never from what a client was told. Every test ends with them.
/// </summary>
public static class Invariants
{
    /// <summary>
    /// How late past expires_at + Orders:SettleWindow an order may still end: the expiry message, the saga
    /// and a loaded 2-core machine need a moment. Generous, yet far below the hold itself.
    /// </summary>
    private static readonly TimeSpan Slack = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Conservation holds at once (it holds at every moment); the rest holds once the system is quiet:
    /// waits for that, then fails listing every violation.
    /// </summary>
    public static async Task HoldAsync(SystemUnderTest system)
    {
        Assert.Empty(await ConservationViolationsAsync(system));
        var violations = new List<string>();
        try
        {
            await Eventually.HoldsAsync(async () =>
            {
                violations = [.. await ConservationViolationsAsync(system), .. await SettledViolationsAsync(system)];
                return violations.Count == 0;
            }, "the invariants to hold", seconds: 45);
        }
        catch (TimeoutException)
        {
            Assert.Fail("Invariants violated:\n" + string.Join("\n", violations));
        }
    }

    /// <summary>available + held + sold = capacity for every ticket type and every seat plan; nothing oversold.</summary>
    public static async Task<List<string>> ConservationViolationsAsync(SystemUnderTest system)
    {
        var violations = new List<string>();
        foreach (var ticket in (await system.TicketClient.ListTicketTypesAsync(new ListTicketTypesRequest())).TicketTypes)
        {
            var a = ticket.Availability;
            if (a.Available + a.Held + a.Sold != a.Capacity || a.Available < 0 || a.Held < 0 || a.Sold > a.Capacity)
            {
                violations.Add($"ticket {ticket.TicketId}: available {a.Available} + held {a.Held} + sold {a.Sold} vs capacity {a.Capacity}");
            }
        }

        foreach (var plan in await SeatPlansAsync(system))
        {
            var map = await system.VenueClient.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan });
            var byStatus = map.Seats.GroupBy(s => s.Status).ToDictionary(g => g.Key, g => g.Count());
            if (map.Available + map.Held + map.Sold != map.Seats.Count
                || byStatus.GetValueOrDefault(SeatStatus.Held) != map.Held || byStatus.GetValueOrDefault(SeatStatus.Sold) != map.Sold)
            {
                violations.Add($"seat plan {plan}: available {map.Available} + held {map.Held} + sold {map.Sold} vs {map.Seats.Count} seats");
            }
        }

        return violations;
    }

    private static async Task<List<string>> SettledViolationsAsync(SystemUnderTest system)
    {
        var violations = new List<string>();
        var orders = await OrdersAsync(system);
        var payments = await PaymentsAsync(system);
        var intents = system.Stripe.Ledger.PaymentIntents
            .GroupBy(i => i.Metadata.GetValueOrDefault("order_id") ?? "")
            .ToDictionary(g => g.Key, g => g.ToList());
        var now = DateTimeOffset.UtcNow;

        foreach (var order in orders)
        {
            var deadline = order.ExpiresAt + SystemUnderTest.SettleWindow + Slack;
            if (order.IsLive ? now > deadline : order.EndedAt > deadline)
            {
                violations.Add($"order {order.OrderId} ({order.Status}) not terminal by expires_at + grace: expires {order.ExpiresAt:O}, ended {order.EndedAt:O}");
            }

            var charges = intents.GetValueOrDefault(order.OrderId.ToString()) ?? [];
            var captured = charges.Sum(i => i.AmountReceived - i.AmountRefunded);
            var payment = payments.GetValueOrDefault(order.OrderId);
            if (order.Status == OrderStatuses.Confirmed)
            {
                // A CONFIRMED order has exactly one succeeded payment, and that money is kept.
                if (payment is not { Status: "SUCCEEDED", Records: 1, Refunds: 0 } || captured != order.AmountMinor || charges.Count(i => i.AmountReceived > 0) != 1)
                {
                    violations.Add($"order {order.OrderId} CONFIRMED but payment {payment} and {captured} captured at Stripe (amount {order.AmountMinor})");
                }
            }
            else if (!order.IsLive)
            {
                // An order that is not CONFIRMED keeps no money: the intent is cancelled or the charge refunded.
                if (payment is not { Status: "CANCELLED" or "REFUNDED" } || captured != 0 || payment.Records != payment.Refunds)
                {
                    violations.Add($"order {order.OrderId} {order.Status} but payment {payment} and {captured} captured at Stripe");
                }
            }
        }

        // Tickets and seats sold are exactly those of CONFIRMED orders, held exactly those of live ones.
        foreach (var ticket in (await system.TicketClient.ListTicketTypesAsync(new ListTicketTypesRequest())).TicketTypes)
        {
            var ofTicket = orders.Where(o => o.TicketId.ToString() == ticket.TicketId).ToList();
            var sold = ofTicket.Where(o => o.Status == OrderStatuses.Confirmed).Sum(o => o.Qty);
            var held = ofTicket.Where(o => o.IsLive).Sum(o => o.Qty);
            if (ticket.Availability.Sold != sold || ticket.Availability.Held != held)
            {
                violations.Add($"ticket {ticket.TicketId}: sold {ticket.Availability.Sold} / held {ticket.Availability.Held}, orders say {sold} / {held}");
            }
        }

        foreach (var plan in await SeatPlansAsync(system))
        {
            var map = await system.VenueClient.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan });
            var ofPlan = orders.Where(o => o.SeatPlanId?.ToString() == plan).ToList();
            var claimed = ofPlan.Where(o => o.Status == OrderStatuses.Confirmed || o.IsLive).SelectMany(o => o.SeatIds).ToList();
            if (claimed.Count != claimed.Distinct().Count())
            {
                violations.Add($"seat plan {plan}: a seat belongs to two orders");
            }

            var sold = ofPlan.Where(o => o.Status == OrderStatuses.Confirmed).SelectMany(o => o.SeatIds).Order().ToList();
            var held = ofPlan.Where(o => o.IsLive).SelectMany(o => o.SeatIds).Order().ToList();
            var mapSold = map.Seats.Where(s => s.Status == SeatStatus.Sold).Select(s => s.SeatId).Order().ToList();
            var mapHeld = map.Seats.Where(s => s.Status == SeatStatus.Held).Select(s => s.SeatId).Order().ToList();
            if (!sold.SequenceEqual(mapSold) || !held.SequenceEqual(mapHeld))
            {
                violations.Add($"seat plan {plan}: seats sold [{string.Join(",", mapSold)}] held [{string.Join(",", mapHeld)}], orders say [{string.Join(",", sold)}] / [{string.Join(",", held)}]");
            }
        }

        return violations;
    }

    private static async Task<IReadOnlyList<string>> SeatPlansAsync(SystemUnderTest system) =>
        [.. (await system.TicketClient.ListTicketTypesAsync(new ListTicketTypesRequest())).TicketTypes
            .Select(t => t.SeatPlanId).Where(p => p.Length > 0).Distinct()];

    private static async Task<List<StoredOrder>> OrdersAsync(SystemUnderTest system)
    {
        await using var connection = new NpgsqlConnection(system.OrdersDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT order_id, ticket_id, qty, seat_plan_id, amount_minor, status, expires_at, ended_at,
                   ARRAY(SELECT s->>'seatId' FROM jsonb_array_elements(seats) s)
            FROM orders
            """, connection);
        var orders = new List<StoredOrder>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            orders.Add(new StoredOrder(
                reader.GetGuid(0), reader.GetGuid(1), reader.GetInt32(2), reader.IsDBNull(3) ? null : reader.GetGuid(3), reader.GetInt64(4),
                reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), reader.IsDBNull(7) ? null : reader.GetFieldValue<DateTimeOffset>(7),
                reader.GetFieldValue<string[]>(8)));
        }

        return orders;
    }

    private static async Task<Dictionary<Guid, StoredPayment>> PaymentsAsync(SystemUnderTest system)
    {
        await using var connection = new NpgsqlConnection(system.PaymentsDatabase);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT p.order_id, p.status,
                   (SELECT count(*) FROM payment_records r WHERE r.order_id = p.order_id),
                   (SELECT count(*) FROM refunds f WHERE f.order_id = p.order_id)
            FROM payments p
            """, connection);
        var payments = new Dictionary<Guid, StoredPayment>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            payments[reader.GetGuid(0)] = new StoredPayment(reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3));
        }

        return payments;
    }

    private sealed record StoredOrder(
        Guid OrderId, Guid TicketId, int Qty, Guid? SeatPlanId, long AmountMinor, string Status, DateTimeOffset ExpiresAt, DateTimeOffset? EndedAt, string[] SeatIds)
    {
        public bool IsLive => Status == OrderStatuses.Pending;
    }

    private sealed record StoredPayment(string Status, long Records, long Refunds);
}
