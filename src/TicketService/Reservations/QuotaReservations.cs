using Grpc.Core;
using Npgsql;
using TicketSaga.ServiceDefaults;
using TicketSaga.TicketService.TicketTypes;

namespace TicketSaga.TicketService.Reservations;

/// <summary>
/// Takes holds on a ticket type's quota, many requests per transaction (group commit).
/// Every writer locks in the same order — reservation_id locks (by key), user quota rows (by user), then
/// slots (by slot, or SKIP LOCKED, which never waits), then new reservation rows (by id) — so batches cannot deadlock.
/// Outcomes are published only after the transaction commits.
/// </summary>
public sealed class QuotaReservations(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public sealed class Item(ReserveQuotaCommand command)
    {
        public ReserveQuotaCommand Command { get; } = command;

        public QuotaHold? Hold { get; internal set; }

        public RpcException? Error { get; internal set; }

        internal List<(int Slot, int Qty)> Allocation { get; } = [];

        internal bool Decided => Hold is not null || Error is not null;

        internal void Reset()
        {
            Hold = null;
            Error = null;
            Allocation.Clear();
        }
    }

    private enum SlotLocking
    {
        /// <summary>Take whichever slots no other transaction holds; never wait.</summary>
        SkipLocked,

        /// <summary>Lock every slot in slot order: the true total, for what SkipLocked could not serve.</summary>
        AllInOrder,
    }

    private sealed class ConcurrentDuplicateException() : Exception("A reservation_id was taken by a concurrent transaction.");

    /// <summary>Decides every item of one ticket type: a hold or the error to answer with.</summary>
    public async Task ReserveAsync(TicketTypeDefinition ticket, IReadOnlyList<Item> items, CancellationToken cancellationToken)
    {
        var undecided = items.ToList();
        foreach (var mode in new[] { SlotLocking.SkipLocked, SlotLocking.AllInOrder })
        {
            undecided = await RunWithDuplicateRetryAsync(ticket, undecided, mode, cancellationToken);
            if (undecided.Count == 0)
            {
                return;
            }
        }
    }

    private async Task<List<Item>> RunWithDuplicateRetryAsync(
        TicketTypeDefinition ticket, List<Item> items, SlotLocking mode, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                return await RunTransactionAsync(ticket, items, mode, cancellationToken);
            }
            catch (ConcurrentDuplicateException)
            {
                // The other transaction has committed now; the next attempt answers those items from its rows.
                items.ForEach(item => item.Reset());
            }
        }
    }

    /// <summary>One transaction for the batch. Returns the items left for <see cref="SlotLocking.AllInOrder"/>.</summary>
    private async Task<List<Item>> RunTransactionAsync(
        TicketTypeDefinition ticket, List<Item> items, SlotLocking mode, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        // Before anything is read: a release of one of these ids either committed (its tombstone is seen
        // below) or waits for this commit (and then releases the hold).
        await ReservationIdLock.AcquireAsync(connection, items.Select(i => i.Command.ReservationId), cancellationToken);
        await RefuseTombstonedAsync(connection, items, cancellationToken);
        await AnswerRetriesAsync(connection, items, cancellationToken);
        var now = clock.GetUtcNow();
        foreach (var item in items.Where(i => !i.Decided))
        {
            if (!ticket.IsOnSale(now))
            {
                item.Error = new RpcException(new Status(StatusCode.FailedPrecondition,
                    $"Ticket type {ticket.TicketId} is not on sale now (sale window {ticket.SaleStartsAt:u} to {ticket.SaleEndsAt:u})."));
            }
            else if (item.Command.ExpiresAt <= now)
            {
                item.Error = new RpcException(new Status(StatusCode.InvalidArgument, "expires_at must be in the future."));
            }
        }

        var counted = await CountAgainstUserLimitAsync(connection, ticket, items.Where(i => !i.Decided).ToList(), cancellationToken);
        if (counted.Count == 0)
        {
            return [];
        }

        var deferred = await AllocateFromSlotsAsync(connection, ticket, counted, mode, cancellationToken);
        var granted = counted.Where(i => i.Allocation.Count > 0).ToList();
        var remaining = await ApplyAsync(connection, ticket, granted, counted.Where(i => i.Allocation.Count == 0).ToList(), cancellationToken);

        // remaining is the total after the whole batch; each hold reports what was left right after it.
        foreach (var item in Enumerable.Reverse(granted))
        {
            item.Hold = new QuotaHold(item.Command.ReservationId, remaining, ticket.PriceMinor, ticket.Currency, item.Command.ExpiresAt);
            remaining += item.Command.Qty;
        }

        await InsertReservationsAsync(connection, ticket, granted, cancellationToken);
        await transaction.CommitAsync(cancellationToken);
        return deferred;
    }

    /// <summary>A reservation_id released before any reserve under it arrived holds nothing, ever.</summary>
    private static async Task RefuseTombstonedAsync(NpgsqlConnection connection, List<Item> items, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT reservation_id FROM reservation_tombstones WHERE reservation_id = ANY(@ids)", connection);
        command.Parameters.AddWithValue("ids", items.Select(i => i.Command.ReservationId).ToArray());
        var released = new HashSet<Guid>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            released.Add(reader.GetGuid(0));
        }

        foreach (var item in items.Where(i => released.Contains(i.Command.ReservationId)))
        {
            item.Error = new RpcException(new Status(StatusCode.FailedPrecondition, $"Reservation {item.Command.ReservationId} was already released."));
        }
    }

    /// <summary>A reservation_id already stored answers its first answer again, or AlreadyExists.</summary>
    private static async Task AnswerRetriesAsync(NpgsqlConnection connection, List<Item> items, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(
            """
            SELECT reservation_id, ticket_id, user_id, qty, expires_at, remaining, unit_price_minor, currency
            FROM reservations WHERE reservation_id = ANY(@ids)
            """, connection);
        command.Parameters.AddWithValue("ids", items.Select(i => i.Command.ReservationId).ToArray());
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var stored = new Dictionary<Guid, (ReserveQuotaCommand Command, QuotaHold Hold)>();
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetGuid(0);
            var expiresAt = reader.GetFieldValue<DateTimeOffset>(4);
            stored[id] = (
                new ReserveQuotaCommand(reader.GetGuid(1), id, reader.GetString(2), reader.GetInt32(3), expiresAt),
                new QuotaHold(id, reader.GetInt32(5), reader.GetInt64(6), reader.GetString(7), expiresAt));
        }

        foreach (var item in items)
        {
            if (stored.TryGetValue(item.Command.ReservationId, out var first))
            {
                if (first.Command == item.Command)
                {
                    item.Hold = first.Hold;
                }
                else
                {
                    item.Error = new RpcException(new Status(StatusCode.AlreadyExists,
                        $"Reservation {item.Command.ReservationId} already exists with other arguments."));
                }
            }
        }
    }

    /// <summary>Adds each hold to its user's tally; the items that would pass max_per_user get their error.</summary>
    private static async Task<List<Item>> CountAgainstUserLimitAsync(
        NpgsqlConnection connection, TicketTypeDefinition ticket, List<Item> items, CancellationToken cancellationToken)
    {
        if (items.Count == 0)
        {
            return items;
        }

        var byUser = items.OrderBy(i => i.Command.UserId, StringComparer.Ordinal).ToList();
        await using var batch = new NpgsqlBatch(connection);
        foreach (var item in byUser)
        {
            // max_per_user spans all of the user's live holds and purchases: the upsert refuses to pass it.
            var upsert = new NpgsqlBatchCommand(
                """
                INSERT INTO ticket_user_quota AS q (ticket_id, user_id, qty) VALUES ($1, $2, $3)
                ON CONFLICT (ticket_id, user_id) DO UPDATE SET qty = q.qty + excluded.qty
                WHERE q.qty + excluded.qty <= $4
                RETURNING q.qty
                """);
            upsert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ticket.TicketId });
            upsert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = item.Command.UserId });
            upsert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = item.Command.Qty });
            upsert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = ticket.MaxPerUser });
            batch.BatchCommands.Add(upsert);
        }

        var refused = new List<Item>();
        await using (var reader = await batch.ExecuteReaderAsync(cancellationToken))
        {
            foreach (var item in byUser)
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    refused.Add(item);
                }

                await reader.NextResultAsync(cancellationToken);
            }
        }

        if (refused.Count > 0)
        {
            // These rows are locked by the upserts above, so the tallies read here are current.
            await using var tally = new NpgsqlCommand(
                "SELECT user_id, qty FROM ticket_user_quota WHERE ticket_id = @ticket AND user_id = ANY(@users)", connection);
            tally.Parameters.AddWithValue("ticket", ticket.TicketId);
            tally.Parameters.AddWithValue("users", refused.Select(i => i.Command.UserId).Distinct().ToArray());
            var counts = new Dictionary<string, int>();
            await using var reader = await tally.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                counts[reader.GetString(0)] = reader.GetInt32(1);
            }

            foreach (var item in refused)
            {
                item.Error = new RpcException(new Status(StatusCode.ResourceExhausted,
                    $"User {item.Command.UserId} already holds or bought {counts[item.Command.UserId]} of at most {ticket.MaxPerUser} " +
                    $"tickets of this type; {item.Command.Qty} more would exceed the limit."));
            }
        }

        return items.Where(i => !i.Decided).ToList();
    }

    /// <summary>
    /// Fills each item's allocation from locked slots, in arrival order. Under SkipLocked, items the
    /// unlocked slots cannot cover are returned for AllInOrder; under AllInOrder they are sold out.
    /// </summary>
    private static async Task<List<Item>> AllocateFromSlotsAsync(
        NpgsqlConnection connection, TicketTypeDefinition ticket, List<Item> items, SlotLocking mode, CancellationToken cancellationToken)
    {
        var deferred = new List<Item>();
        if (items.Count == 0)
        {
            return deferred;
        }

        var slots = mode == SlotLocking.AllInOrder
            ? await LockAllSlotsAsync(connection, ticket.TicketId, cancellationToken)
            : await LockUnlockedSlotsAsync(connection, ticket, items.Sum(i => i.Command.Qty), cancellationToken);

        foreach (var item in items)
        {
            var left = slots.Sum(s => s.Available);
            if (left < item.Command.Qty)
            {
                if (mode == SlotLocking.SkipLocked)
                {
                    deferred.Add(item);
                }
                else
                {
                    item.Error = new RpcException(new Status(StatusCode.ResourceExhausted,
                        left == 0 ? "Sold out." : $"Only {left} left; {item.Command.Qty} requested."));
                }

                continue;
            }

            var needed = item.Command.Qty;
            foreach (var slot in slots.Where(s => s.Available > 0))
            {
                var take = Math.Min(needed, slot.Available);
                slot.Available -= take;
                slot.Taken += take;
                item.Allocation.Add((slot.Slot, take));
                needed -= take;
                if (needed == 0)
                {
                    break;
                }
            }
        }

        return deferred;
    }

    private sealed class LockedSlot(int slot, int available)
    {
        public int Slot { get; } = slot;

        public int Available { get; set; } = available;

        public int Taken { get; set; }
    }

    private static async Task<List<LockedSlot>> LockAllSlotsAsync(NpgsqlConnection connection, Guid ticketId, CancellationToken cancellationToken)
    {
        // Only the sum of every slot can say "sold out"; slot order is the lock order of every writer.
        await using var command = new NpgsqlCommand(
            "SELECT slot, available FROM ticket_quota_slots WHERE ticket_id = @ticket ORDER BY slot FOR UPDATE", connection);
        command.Parameters.AddWithValue("ticket", ticketId);
        return await ReadSlotsAsync(command, cancellationToken);
    }

    private static async Task<List<LockedSlot>> LockUnlockedSlotsAsync(
        NpgsqlConnection connection, TicketTypeDefinition ticket, int needed, CancellationToken cancellationToken)
    {
        var locked = new List<LockedSlot>();
        var shareOfOneSlot = Math.Max(1, ticket.Capacity / TicketTypeCatalog.MaxSlots);
        var limit = needed / shareOfOneSlot + 1;
        var start = Random.Shared.Next(TicketTypeCatalog.MaxSlots);
        while (locked.Sum(s => s.Available) < needed)
        {
            // SKIP LOCKED: concurrent transactions spread over different slots instead of queueing on one row;
            // starting at a random slot keeps them from all trying the same one first.
            await using var command = new NpgsqlCommand(
                """
                SELECT slot, available FROM ticket_quota_slots
                WHERE ticket_id = @ticket AND available > 0 AND slot <> ALL(@mine)
                ORDER BY (slot + @start) % @slots
                LIMIT @limit
                FOR UPDATE SKIP LOCKED
                """, connection);
            command.Parameters.AddWithValue("ticket", ticket.TicketId);
            command.Parameters.AddWithValue("mine", locked.Select(s => s.Slot).ToArray());
            command.Parameters.AddWithValue("start", start);
            command.Parameters.AddWithValue("slots", TicketTypeCatalog.MaxSlots);
            command.Parameters.AddWithValue("limit", limit);
            var more = await ReadSlotsAsync(command, cancellationToken);
            if (more.Count == 0)
            {
                break;
            }

            locked.AddRange(more);
            limit *= 2;
        }

        return locked;
    }

    private static async Task<List<LockedSlot>> ReadSlotsAsync(NpgsqlCommand command, CancellationToken cancellationToken)
    {
        var slots = new List<LockedSlot>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            slots.Add(new LockedSlot(reader.GetInt32(0), reader.GetInt32(1)));
        }

        return slots;
    }

    /// <summary>Moves the granted quantities from available to held and un-counts the items that got nothing.</summary>
    private static async Task<int> ApplyAsync(
        NpgsqlConnection connection, TicketTypeDefinition ticket, List<Item> granted, List<Item> ungranted, CancellationToken cancellationToken)
    {
        await using var batch = new NpgsqlBatch(connection);
        var taken = granted.SelectMany(i => i.Allocation)
            .GroupBy(a => a.Slot, a => a.Qty)
            .Select(g => (Slot: g.Key, Qty: g.Sum()))
            .ToList();
        if (taken.Count > 0)
        {
            // Slots are locked by this transaction and available was checked against them: no oversell.
            var hold = new NpgsqlBatchCommand(
                """
                UPDATE ticket_quota_slots s SET available = s.available - t.qty, held = s.held + t.qty
                FROM unnest($2::int[], $3::int[]) AS t(slot, qty)
                WHERE s.ticket_id = $1 AND s.slot = t.slot
                """);
            hold.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ticket.TicketId });
            hold.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = taken.Select(t => t.Slot).ToArray() });
            hold.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = taken.Select(t => t.Qty).ToArray() });
            batch.BatchCommands.Add(hold);
        }

        if (ungranted.Count > 0)
        {
            // An item that got no quota must not keep counting against its user's limit.
            ReservationLedger.AddUncountUserHolds(batch, ungranted.Select(i => (ticket.TicketId, i.Command.UserId, i.Command.Qty)));
        }

        var total = new NpgsqlBatchCommand("SELECT sum(available)::int FROM ticket_quota_slots WHERE ticket_id = $1");
        total.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ticket.TicketId });
        batch.BatchCommands.Add(total);
        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        do
        {
            if (reader.FieldCount > 0 && await reader.ReadAsync(cancellationToken))
            {
                return reader.GetInt32(0);
            }
        }
        while (await reader.NextResultAsync(cancellationToken));

        throw new InvalidOperationException($"Ticket type {ticket.TicketId} has no quota slots.");
    }

    private static async Task InsertReservationsAsync(
        NpgsqlConnection connection, TicketTypeDefinition ticket, List<Item> granted, CancellationToken cancellationToken)
    {
        if (granted.Count == 0)
        {
            return;
        }

        await using var batch = new NpgsqlBatch(connection);
        foreach (var item in granted.OrderBy(i => i.Command.ReservationId))
        {
            var allocation = item.Allocation.OrderBy(a => a.Slot).ToList();
            // reservation_id is the idempotency key: a concurrent duplicate that committed first wins.
            var insert = new NpgsqlBatchCommand(
                """
                INSERT INTO reservations (reservation_id, ticket_id, user_id, qty, unit_price_minor, currency, remaining,
                                          expires_at, slots, slot_qtys, status)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'HELD')
                ON CONFLICT (reservation_id) DO NOTHING
                """);
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = item.Command.ReservationId });
            insert.Parameters.Add(new NpgsqlParameter<Guid> { TypedValue = ticket.TicketId });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = item.Command.UserId });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = item.Command.Qty });
            insert.Parameters.Add(new NpgsqlParameter<long> { TypedValue = ticket.PriceMinor });
            insert.Parameters.Add(new NpgsqlParameter<string> { TypedValue = ticket.Currency });
            insert.Parameters.Add(new NpgsqlParameter<int> { TypedValue = item.Hold!.Remaining });
            insert.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = item.Command.ExpiresAt.UtcDateTime });
            insert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = allocation.Select(a => a.Slot).ToArray() });
            insert.Parameters.Add(new NpgsqlParameter<int[]> { TypedValue = allocation.Select(a => a.Qty).ToArray() });
            batch.BatchCommands.Add(insert);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
        if (batch.BatchCommands.Any<NpgsqlBatchCommand>(command => command.RecordsAffected == 0))
        {
            throw new ConcurrentDuplicateException();
        }
    }
}
