using System.Collections.Concurrent;
using System.Threading.Channels;
using Npgsql;
using TicketSaga.ServiceDefaults;
using static TicketSaga.VenueService.SeatReservationRows;

namespace TicketSaga.VenueService;

/// <summary>
/// Auto-assigns of a section, served in batches. They take turns on the section's lock anyway (the
/// best seats depend on the whole map), so the requests queued behind it share one transaction: in
/// arrival order, each gets the best seats those before it left. In an on-sale rush this is one
/// transaction per batch instead of one per buyer, each holding the lock; alone, a request is a batch
/// of one. Per request the outcome is what its own transaction would have given.
/// </summary>
internal sealed class SectionAutoAssigner(NpgsqlDataSource dataSource, TimeSpan? idleLifetime = null)
{
    /// <summary>At most this many requests share a transaction (and its hold on the section lock).</summary>
    private const int MaxBatch = 64;

    /// <summary>A section's queue (and its serving loop) goes after this long without requests: sections come and go with events.</summary>
    private readonly TimeSpan _idleLifetime = idleLifetime ?? TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<(Guid Plan, string Section), Lazy<Channel<Request>>> _sections = new();

    public async Task<SeatReservationRecord> ReserveAsync(
        Guid planId, Guid reservationId, string section, int quantity, DateTime expiresAt, CancellationToken cancellationToken)
    {
        var request = new Request(reservationId, quantity, expiresAt, cancellationToken);
        Enqueue((planId, section), request);
        return await request.Answer.Task.WaitAsync(cancellationToken);
    }

    /// <summary>A queue that has just gone idle refuses the request: the next one made for the section takes it.</summary>
    private void Enqueue((Guid Plan, string Section) key, Request request)
    {
        while (!_sections.GetOrAdd(key, key => new Lazy<Channel<Request>>(() => Serve(key))).Value.Writer.TryWrite(request))
        {
        }
    }

    /// <summary>Number of sections with a queue, for tests.</summary>
    internal int Queues => _sections.Count;

    private Channel<Request> Serve((Guid Plan, string Section) key)
    {
        var queue = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
        _ = Task.Run(() => ServeAsync(key, queue));
        return queue;
    }

    private async Task ServeAsync((Guid Plan, string Section) key, Channel<Request> queue)
    {
        var (planId, section) = key;
        var batch = new List<Request>(MaxBatch);
        var later = new List<Request>();
        while (await WaitForRequestsAsync(key, queue))
        {
            batch.Clear();
            later.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var request))
            {
                if (request.Cancellation.IsCancellationRequested)
                {
                    request.Answer.TrySetCanceled(request.Cancellation);
                }
                else if (batch.Exists(r => r.ReservationId == request.ReservationId))
                {
                    // A retry racing its first attempt: served next, when it finds the first one's hold.
                    later.Add(request);
                }
                else
                {
                    batch.Add(request);
                }
            }

            try
            {
                if (batch.Count > 0)
                {
                    await ServeBatchAsync(planId, section, batch);
                }
            }
            catch (Exception exception)
            {
                batch.ForEach(request => request.Answer.TrySetException(exception));
            }

            later.ForEach(request => Enqueue(key, request));
        }
    }

    /// <summary>
    /// False once the queue is closed and served to the end. Idle for <see cref="_idleLifetime"/>, it
    /// leaves the table first and is closed second, so a request either lands before the close (and is
    /// served) or finds it closed and makes a new queue.
    /// </summary>
    private async Task<bool> WaitForRequestsAsync((Guid Plan, string Section) key, Channel<Request> queue)
    {
        using var idle = new CancellationTokenSource(_idleLifetime);
        try
        {
            return await queue.Reader.WaitToReadAsync(idle.Token);
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested)
        {
            if (_sections.TryGetValue(key, out var current) && current.IsValueCreated && current.Value == queue)
            {
                _sections.TryRemove(KeyValuePair.Create(key, current));
            }

            queue.Writer.TryComplete();
            return await queue.Reader.WaitToReadAsync();
        }
    }

    /// <summary>One transaction, in the lock order of <see cref="SeatReservationRows"/>: reservation ids, section, seats.</summary>
    private async Task ServeBatchAsync(Guid planId, string section, List<Request> batch)
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await ReservationIdLock.AcquireAsync(connection, batch.Select(r => r.ReservationId), CancellationToken.None);

        var outcomes = new Dictionary<Request, Func<SeatReservationRecord>>();
        var released = await ReleasedAsync(transaction, batch);
        foreach (var request in batch.Where(r => released.Contains(r.ReservationId)))
        {
            outcomes[request] = () => throw VenueErrors.FailedPrecondition($"seat reservation {request.ReservationId} was already released");
        }

        var started = await StartAsync(transaction, planId, section, batch.Where(r => !released.Contains(r.ReservationId)).ToList());
        foreach (var request in batch.Where(r => !outcomes.ContainsKey(r) && !started.ContainsKey(r)))
        {
            // Taken before (a retry) or no such plan: answered as the single transaction would.
            outcomes[request] = await RetryOutcomeAsync(transaction, planId, section, request);
        }

        if (started.Count > 0)
        {
            var seats = await LockSectionAndReadSeatsAsync(transaction, planId, section);
            var holds = Assign(seats, started, section, planId, outcomes);
            await HoldAsync(transaction, holds.Select(h => (h.Request.ReservationId, h.Seats)).ToList(), [.. started.Keys.Where(r => !holds.Exists(h => h.Request == r)).Select(r => r.ReservationId)]);
        }

        await transaction.CommitAsync();
        foreach (var request in batch)
        {
            try
            {
                request.Answer.TrySetResult(outcomes[request]());
            }
            catch (Exception exception)
            {
                request.Answer.TrySetException(exception);
            }
        }
    }

    private static async Task<HashSet<Guid>> ReleasedAsync(NpgsqlTransaction transaction, List<Request> batch)
    {
        await using var read = new NpgsqlCommand(
            "SELECT reservation_id FROM seat_reservation_tombstones WHERE reservation_id = ANY(@reservations)", transaction.Connection, transaction);
        read.Parameters.AddWithValue("reservations", batch.Select(r => r.ReservationId).ToArray());
        var released = new HashSet<Guid>();
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            released.Add(reader.GetGuid(0));
        }

        return released;
    }

    /// <summary>Inserts the reservation rows (the claims on the ids); returns the requests that got theirs, with the stored expiry.</summary>
    private static async Task<Dictionary<Request, DateTime>> StartAsync(NpgsqlTransaction transaction, Guid planId, string section, List<Request> requests)
    {
        var started = new Dictionary<Request, DateTime>();
        if (requests.Count == 0)
        {
            return started;
        }

        await using var insert = new NpgsqlCommand(
            """
            INSERT INTO seat_reservations (reservation_id, plan_id, section, quantity, status, expires_at)
            SELECT t.reservation_id, @plan, @section, t.quantity, 'HELD', t.expires_at
            FROM unnest(@reservations, @quantities, @expiries) AS t(reservation_id, quantity, expires_at)
            WHERE EXISTS (SELECT 1 FROM seat_plans WHERE plan_id = @plan)
            ON CONFLICT (reservation_id) DO NOTHING
            RETURNING reservation_id, expires_at
            """, transaction.Connection, transaction);
        insert.Parameters.AddWithValue("plan", planId);
        insert.Parameters.AddWithValue("section", section);
        insert.Parameters.AddWithValue("reservations", requests.Select(r => r.ReservationId).ToArray());
        insert.Parameters.AddWithValue("quantities", requests.Select(r => r.Quantity).ToArray());
        insert.Parameters.AddWithValue("expiries", requests.Select(r => r.ExpiresAt).ToArray());
        var byId = requests.ToDictionary(r => r.ReservationId);
        await using var reader = await insert.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            started[byId[reader.GetGuid(0)]] = reader.GetFieldValue<DateTime>(1);
        }

        return started;
    }

    private static async Task<Func<SeatReservationRecord>> RetryOutcomeAsync(NpgsqlTransaction transaction, Guid planId, string section, Request request)
    {
        if (await ReadAsync(transaction, request.ReservationId, CancellationToken.None) is not { } existing)
        {
            return () => throw VenueErrors.NotFound($"seat plan {planId} not found");
        }

        return () => existing.AnswerRetry(existing.DifferencesFrom(planId, section, request.Quantity, request.ExpiresAt));
    }

    /// <summary>Locks the section (exclusively: named holds share it), then reads its seats in a fresh snapshot, best rows first.</summary>
    private static async Task<List<SectionSeat>> LockSectionAndReadSeatsAsync(NpgsqlTransaction transaction, Guid planId, string section)
    {
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("SELECT 1 FROM plan_sections WHERE plan_id = $1 AND name = $2 FOR UPDATE") { Parameters = { new() { Value = planId }, new() { Value = section } } },
                new NpgsqlBatchCommand(
                    """
                    SELECT seat_id, row_label, number, label, status = 'AVAILABLE'
                    FROM seats WHERE plan_id = $1 AND section = $2
                    ORDER BY row_rank, number
                    """) { Parameters = { new() { Value = planId }, new() { Value = section } } },
            },
        };
        await using var reader = await batch.ExecuteReaderAsync();
        if (!await reader.ReadAsync())
        {
            throw VenueErrors.NotFound($"section '{section}' not found in seat plan {planId}");
        }

        await reader.NextResultAsync();
        var seats = new List<SectionSeat>();
        while (await reader.ReadAsync())
        {
            seats.Add(new SectionSeat(reader.GetGuid(0), reader.GetString(1), reader.GetInt32(2), reader.GetString(3), reader.GetBoolean(4)));
        }

        return seats;
    }

    /// <summary>The best seats for each started request in arrival order, on the map as the ones before it left it.</summary>
    private static List<(Request Request, List<SectionSeat> Seats)> Assign(
        List<SectionSeat> seats, Dictionary<Request, DateTime> started, string section, Guid planId, Dictionary<Request, Func<SeatReservationRecord>> outcomes)
    {
        var taken = new HashSet<Guid>();
        var byId = seats.ToDictionary(s => s.SeatId);
        var holds = new List<(Request Request, List<SectionSeat> Seats)>();
        foreach (var (request, expiresAt) in started)
        {
            var rows = seats.GroupBy(s => s.Row)
                .Select(row => new SeatRow(row.Key, [.. row.Select(s => new SeatSlot(s.SeatId, s.Number, s.Available && !taken.Contains(s.SeatId)))]))
                .ToList();
            if (SeatAssigner.Assign(rows, request.Quantity) is not { } chosen)
            {
                var left = rows.Sum(r => r.Seats.Count(s => s.Available));
                outcomes[request] = () => throw VenueErrors.ResourceExhausted(
                    $"only {left} seat{(left == 1 ? "" : "s")} left in section '{section}', {request.Quantity} requested");
                continue;
            }

            taken.UnionWith(chosen);
            var held = chosen.Select(id => byId[id]).ToList();
            holds.Add((request, held));
            var record = new SeatReservationRecord(
                request.ReservationId, planId, section, request.Quantity, SeatReservationStatus.Held, expiresAt, null, null,
                [.. held.Select(s => new ReservedSeat(s.SeatId, section, s.Row, s.Number, s.Label))]);
            outcomes[request] = () => record;
        }

        return holds;
    }

    /// <summary>Holds every chosen seat (all or none: a named hold may not have taken one meanwhile) and drops the claims of requests left without seats.</summary>
    private static async Task HoldAsync(NpgsqlTransaction transaction, List<(Guid ReservationId, List<SectionSeat> Seats)> holds, Guid[] unseated)
    {
        var seatIds = holds.SelectMany(h => h.Seats.Select(s => s.SeatId)).ToArray();
        var owners = holds.SelectMany(h => h.Seats.Select(_ => h.ReservationId)).ToArray();
        await using var batch = new NpgsqlBatch(transaction.Connection, transaction)
        {
            BatchCommands =
            {
                new NpgsqlBatchCommand("DELETE FROM seat_reservations WHERE reservation_id = ANY($1)") { Parameters = { new() { Value = unseated } } },
                new NpgsqlBatchCommand("SELECT 1 FROM seats WHERE seat_id = ANY($1) ORDER BY seat_id FOR UPDATE") { Parameters = { new() { Value = seatIds } } },
                new NpgsqlBatchCommand(
                    """
                    UPDATE seats s SET status = 'HELD', reservation_id = t.reservation_id
                    FROM unnest($1::uuid[], $2::uuid[]) AS t(seat_id, reservation_id)
                    WHERE s.seat_id = t.seat_id AND s.status = 'AVAILABLE'
                    """) { Parameters = { new() { Value = seatIds }, new() { Value = owners } } },
                new NpgsqlBatchCommand("INSERT INTO reservation_seats (reservation_id, seat_id) SELECT * FROM unnest($1::uuid[], $2::uuid[])")
                {
                    Parameters = { new() { Value = owners }, new() { Value = seatIds } },
                },
            },
        };
        await batch.ExecuteNonQueryAsync();
        EnsureAllSeats(batch.BatchCommands[2].RecordsAffected, seatIds.Length, $"{holds.Count} seat reservation(s)");
    }

    private sealed record SectionSeat(Guid SeatId, string Row, int Number, string Label, bool Available);

    private sealed class Request(Guid reservationId, int quantity, DateTime expiresAt, CancellationToken cancellation)
    {
        public Guid ReservationId { get; } = reservationId;

        public int Quantity { get; } = quantity;

        public DateTime ExpiresAt { get; } = expiresAt;

        public CancellationToken Cancellation { get; } = cancellation;

        public TaskCompletionSource<SeatReservationRecord> Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
