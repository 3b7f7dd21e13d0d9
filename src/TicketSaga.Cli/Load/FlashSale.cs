using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Spectre.Console;
using TicketSaga.Contracts;
using TicketSaga.PublicApi;
using TicketSaga.ServiceDefaults;
using TicketSaga.Ticket.V1;
using TicketSaga.Venue.V1;

namespace TicketSaga.Cli.Load;

/// <summary>Where the running system is: the services' gRPC (through their sidecars) and the development signing key.</summary>
/// <param name="UpProcess">The `ticketsaga up` process whose tree's CPU time is read from /proc; none: CPU is not measured.</param>
internal sealed record FlashSaleTargets(CallInvoker Tickets, CallInvoker Venues, string SigningKey, TimeSpan SettleWindow, int? UpProcess = null);

/// <summary>
/// A flash sale against a running system: a fresh seated event with K seats, N buyers (each its own
/// user and JWT) who POST /orders through the gateway — all at once (a closed burst), or arriving at a
/// fixed rate whatever the answers (open loop) — a share of the lucky ones paying through
/// POST /payments/confirm, the rest letting their holds expire. Buyers sent to the waiting room come
/// back when it says. The verdict comes from the services' data: the stock from ticket-service and
/// venue-service, the orders from order-service; CPU time from /proc.
/// </summary>
internal sealed class FlashSale(FlashSaleOptions options, FlashSaleTargets targets, IAnsiConsole console)
{
    private const string Section = "Floor";
    private const string SoldOutType = "https://ticketsaga.dev/problems/sold-out";
    private const string NotYetPayableType = "https://ticketsaga.dev/problems/order-not-yet-payable";
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>An order that ended more than this past expires_at + settle window is late: its compensation took too long.</summary>
    internal static readonly TimeSpan LateAfter = TimeSpan.FromSeconds(1);

    /// <summary>Reading the verdict gets its own time, so a run cut short by --max-duration still reports.</summary>
    private static readonly TimeSpan VerdictTimeout = TimeSpan.FromMinutes(1);

    /// <summary>Sold-out answers asked for after the rush, to price one in CPU.</summary>
    private const int SoldOutProbeBuyers = 400;

    private const double MinProbeRate = 200;

    /// <summary>Room between the probe's last buyer and the first hold of the sale to end.</summary>
    private static readonly TimeSpan ProbeMargin = TimeSpan.FromSeconds(2);

    /// <summary>At most this long for the system to go quiet before the probe (a hold of 20 s keeps the sale sold out meanwhile).</summary>
    private static readonly TimeSpan QuietBeforeProbe = TimeSpan.FromSeconds(10);

    private readonly string _runId = Guid.CreateVersion7().ToString("N")[^8..];
    private readonly ConcurrentBag<double> _latenciesMs = [];
    private readonly LatencyHistogram _admissions = new();
    private int _queued;
    private readonly ConcurrentDictionary<string, int> _reserveErrors = new();
    private readonly ConcurrentDictionary<Guid, Hold> _holds = new();
    private readonly Progress _progress = new();
    private int _lateOrders;
    private readonly LatencyHistogram _endLag = new();
    private TimeSpan _settled;
    private int _successes;
    private int _paymentsSucceeded;
    private int _paymentErrors;

    /// <param name="Paid">Only a paid order can end before expires_at + settle window: the watcher leaves the others alone until then.</param>
    private sealed record Hold(string Token, DateTimeOffset ExpiresAt, bool Paid = false);

    public async Task<FlashSaleResult> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var capped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        capped.CancelAfter(options.MaxDuration);
        using var http = CreateClient(options);

        var ids = await CreateEventAsync(options.Seats, cancellationToken);
        TimeSpan buyPhase = default;
        OpenLoopSummary? openLoop = null;
        CpuUse? cpu = null;
        await console.Status().StartAsync("Flash sale", async status =>
        {
            var work = Task.Run(async () =>
            {
                var before = ProcessCpu.SampleSystem(targets.UpProcess);
                var buying = Stopwatch.StartNew();
                if (options.OpenLoop is { } rate)
                {
                    var scheduler = new OpenLoopScheduler(rate.Rate, rate.Duration, options.MaxInFlight);
                    var tokens = Enumerable.Range(0, scheduler.Arrivals).Select(Token).ToArray();
                    before = ProcessCpu.SampleSystem(targets.UpProcess);
                    buying.Restart();
                    var records = await scheduler.RunAsync((buyer, ct) => BuyOneAsync(http, tokens[buyer], ids.Ticket, pay: true, ct), capped.Token);
                    openLoop = OpenLoopSummary.Of(rate.Rate, rate.Duration, records);
                    _latenciesMs.Clear();
                    foreach (var record in records.Where(r => r.HasAnswer))
                    {
                        _latenciesMs.Add(record.Latency.TotalMilliseconds);
                    }
                }
                else
                {
                    await BuyAsync(http, ids.Ticket, capped.Token);
                }

                buyPhase = buying.Elapsed;
                var rush = ProcessCpu.SampleSystem(targets.UpProcess).Since(before);
                // Sold-out answers are priced at the rush's own pace: buyers who arrive together share availability reads.
                var rushRate = (_progress.Reserved + _progress.SoldOut) / buyPhase.TotalSeconds;
                var probe = await ProbeSoldOutAsync(http, ids.Ticket, options.OpenLoop?.Rate ?? Math.Max(MinProbeRate, rushRate), capped.Token);
                cpu = CpuUse.Of(targets.UpProcess is not null, rush, _successes, _progress.SoldOut, probe.Cpu, probe.SoldOut);
                await WatchUntilEndedAsync(http, clock, capped.Token);
            }, CancellationToken.None);
            while (!work.IsCompleted)
            {
                status.Status(Markup.Escape(_progress.Describe(clock.Elapsed)));
                await Task.WhenAny(work, Task.Delay(250, CancellationToken.None));
            }

            await work;
        });
        console.MarkupLineInterpolated($"[grey]{_progress.Describe(clock.Elapsed)}[/]");

        using var verdictTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        verdictTimeout.CancelAfter(VerdictTimeout);
        var orders = await ReadOrdersAsync(http, ids.Ticket, verdictTimeout.Token);
        var tickets = await ReadAgainOnDropAsync(() => AvailabilityAsync(ids.Ticket, verdictTimeout.Token), verdictTimeout.Token);
        var seatMap = await ReadAgainOnDropAsync(async () => await new Venues.VenuesClient(targets.Venues).GetSeatMapAsync(
            new GetSeatMapRequest { PlanId = ids.SeatPlan }, cancellationToken: verdictTimeout.Token), verdictTimeout.Token);

        var tally = new ClientTally(
            [.. _latenciesMs], buyPhase, _successes, _progress.SoldOut,
            new SortedDictionary<string, int>(_reserveErrors), _paymentsSucceeded, _paymentErrors);
        return FlashSaleReport.Summarize(
            options, tally, orders,
            new Stock(tickets.Capacity, tickets.Available, tickets.Held, tickets.Sold),
            new Stock(seatMap.Seats.Count, seatMap.Available, seatMap.Held, seatMap.Sold),
            DateTimeOffset.UtcNow, targets.SettleWindow, clock.Elapsed, _lateOrders, _settled, ids) with
        {
            Queued = _queued,
            TimeToAdmission = LatencySummary.Of(_admissions),
            EndLag = LatencySummary.Of(_endLag),
            OpenLoop = openLoop,
            Cpu = cpu,
        };
    }

    /// <summary>
    /// One open-loop step of --find-max: a fresh event with a seat for every arrival, buyers arriving
    /// at <paramref name="rate"/> who only reserve (no payments), nothing waited for afterwards.
    /// </summary>
    public async Task<OpenLoopSummary> RunStepAsync(OpenLoopOptions rate, CancellationToken cancellationToken)
    {
        using var http = CreateClient(options);
        var scheduler = new OpenLoopScheduler(rate.Rate, rate.Duration, options.MaxInFlight);
        var ids = await CreateEventAsync(scheduler.Arrivals, cancellationToken);
        var step = _runId + "-" + rate.Rate.ToString("0", System.Globalization.CultureInfo.InvariantCulture);
        var tokens = Enumerable.Range(0, scheduler.Arrivals).Select(buyer => Token($"flash-{step}-{buyer:D6}")).ToArray();
        var records = await scheduler.RunAsync((buyer, ct) => BuyOneAsync(http, tokens[buyer], ids.Ticket, pay: false, ct), cancellationToken);
        return OpenLoopSummary.Of(rate.Rate, rate.Duration, records);
    }

    /// <summary>
    /// Connections reused as a browser does (a bounded pool per server, kept alive), so the tool never
    /// runs out of handles before the system under test does; requests beyond the pool wait for a
    /// connection, and that wait counts in their latency.
    /// </summary>
    internal static HttpClient CreateClient(FlashSaleOptions options) => new(new SocketsHttpHandler
    {
        MaxConnectionsPerServer = options.Connections,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
        PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
        EnableMultipleHttp2Connections = true,
    })
    {
        BaseAddress = options.Gateway,
        Timeout = TimeSpan.FromSeconds(60),
    };

    /// <summary>
    /// A read through a sidecar, asked again when the connection was dropped under it (after a rush the
    /// sidecar may close a connection as a call starts on it): the verdict must not be lost to that.
    /// </summary>
    private static async Task<T> ReadAgainOnDropAsync<T>(Func<Task<T>> read, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read();
            }
            catch (RpcException ex) when (attempt < 4 && ex.StatusCode is StatusCode.Unavailable or StatusCode.Internal && !cancellationToken.IsCancellationRequested)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    /// <summary>What went wrong on the wire, e.g. "HttpRequestException ConnectionError (ConnectionReset)": a refused connection and a timeout call for different fixes.</summary>
    private static string ErrorName(Exception ex) => ex switch
    {
        HttpRequestException { InnerException: System.Net.Sockets.SocketException socket } http => $"{nameof(HttpRequestException)} {http.HttpRequestError} ({socket.SocketErrorCode})",
        HttpRequestException { InnerException: { } inner } http => $"{nameof(HttpRequestException)} {http.HttpRequestError} ({inner.GetType().Name}: {inner.Message})",
        HttpRequestException http => $"{nameof(HttpRequestException)} {http.HttpRequestError}",
        _ => ex.GetType().Name,
    };

    private async Task<Availability> AvailabilityAsync(string ticketId, CancellationToken cancellationToken) =>
        (await new Tickets.TicketsClient(targets.Tickets).GetTicketTypeAsync(
            new GetTicketTypeRequest { TicketId = ticketId }, cancellationToken: cancellationToken)).Availability;

    /// <summary>
    /// Once nothing is left to sell, more buyers ask (new users, at <paramref name="rate"/>): the CPU
    /// they cost, over the answers they got, prices one sold-out answer. Skipped when seats are left,
    /// or when a hold of the sale ends before the probe would: its seat would go to a probe buyer, whose
    /// order is not the sale's. The probe waits for the rush's sagas to settle first: their finalizes
    /// and payments are not a sold-out answer's cost.
    /// </summary>
    private async Task<(CpuSample Cpu, int SoldOut)> ProbeSoldOutAsync(HttpClient http, string ticketId, double rate, CancellationToken cancellationToken)
    {
        if (targets.UpProcess is not { } up)
        {
            return (CpuSample.None, 0);
        }

        await ProcessCpu.WaitForQuietAsync(up, QuietBeforeProbe, cancellationToken);
        var probing = TimeSpan.FromSeconds(SoldOutProbeBuyers / rate);
        var holdsEndAt = _holds.IsEmpty ? DateTimeOffset.MaxValue : _holds.Values.Min(hold => hold.ExpiresAt);
        if (holdsEndAt < DateTimeOffset.UtcNow + probing + ProbeMargin || (await AvailabilityAsync(ticketId, cancellationToken)).Available > 0)
        {
            return (CpuSample.None, 0);
        }

        var scheduler = new OpenLoopScheduler(rate, probing, options.MaxInFlight);
        var tokens = Enumerable.Range(0, scheduler.Arrivals).Select(buyer => Token($"flash-{_runId}-probe-{buyer:D5}")).ToArray();
        var before = ProcessCpu.SampleSystem(targets.UpProcess);
        var records = await scheduler.RunAsync((buyer, ct) => BuyOneAsync(http, tokens[buyer], ticketId, pay: false, ct, tally: false), cancellationToken);
        return (ProcessCpu.SampleSystem(targets.UpProcess).Since(before), records.Count(r => r.Kind == AnswerKind.SoldOut));
    }

    /// <summary>A seat plan of K seats in one section and its ticket type, max_per_user 1, on sale now.</summary>
    private async Task<(string Event, string Ticket, string SeatPlan)> CreateEventAsync(int seats, CancellationToken cancellationToken)
    {
        var eventId = Guid.CreateVersion7().ToString();
        var plan = new CreateSeatPlanRequest { PlanId = Guid.CreateVersion7().ToString(), EventId = eventId, Name = $"Flash sale {_runId}" };
        var layout = new SectionLayout { Name = Section };
        layout.Rows.AddRange(FlashSaleReport.SeatRows(seats).Select((seats, row) => new RowLayout { Label = $"R{row + 1}", Seats = seats }));
        plan.Sections.Add(layout);
        await new Venues.VenuesClient(targets.Venues).CreateSeatPlanAsync(plan, cancellationToken: cancellationToken);

        var tickets = new Tickets.TicketsClient(targets.Tickets);
        await tickets.DescribeEventAsync(new DescribeEventRequest
        {
            Event = new EventDetails { EventId = eventId, Name = $"Flash sale {_runId}", Venue = plan.Name, StartsAt = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)) },
        }, cancellationToken: cancellationToken);
        var ticket = await tickets.CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            TicketId = Guid.CreateVersion7().ToString(),
            EventId = eventId,
            Name = $"Flash sale {_runId} - {Section}",
            Capacity = seats,
            UnitPrice = new Money { AmountMinor = 5000, Currency = "EUR" },
            MaxPerUser = 1,
            SaleStartsAt = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-1)),
            SaleEndsAt = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)),
            SeatPlanId = plan.PlanId,
            Section = Section,
        }, cancellationToken: cancellationToken);
        console.MarkupLineInterpolated($"[grey]Event[/] {eventId}: {seats} seats (ticket type {ticket.TicketId}, seat plan {plan.PlanId})");
        return (eventId, ticket.TicketId, plan.PlanId);
    }

    private string Token(int buyer) => Token(BuyerId(buyer));

    private string Token(string userId) => DevTokens.Create(
        new AuthSettings { SigningKey = targets.SigningKey }, userId, options.MaxDuration + TimeSpan.FromMinutes(10));

    private string BuyerId(int buyer) => $"flash-{_runId}-{buyer:D6}";

    /// <summary>Every buyer starts at the same moment; each reserves one seat, and pays if chosen.</summary>
    private async Task BuyAsync(HttpClient http, string ticketId, CancellationToken cancellationToken)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var buyers = Enumerable.Range(0, options.Buyers).Select(buyer => Task.Run(async () =>
        {
            var token = Token(buyer);
            await start.Task;
            var sent = Stopwatch.GetTimestamp();
            var answer = await BuyOneAsync(http, token, ticketId, pay: true, cancellationToken);
            if (answer.Kind != AnswerKind.Failed)
            {
                _latenciesMs.Add(Stopwatch.GetElapsedTime(sent, answer.FirstAnswerAt).TotalMilliseconds);
            }
        }, CancellationToken.None)).ToList();
        start.SetResult();
        await Task.WhenAll(buyers);
    }

    /// <summary>
    /// One buyer's POST /orders (coming back from the waiting room as told), then the payment if this
    /// success is one of the paying share. <paramref name="tally"/> false: a probe, not counted in the sale.
    /// </summary>
    private async Task<BuyerAnswer> BuyOneAsync(HttpClient http, string token, string ticketId, bool pay, CancellationToken cancellationToken, bool tally = true)
    {
        ReserveAnswer answer;
        try
        {
            answer = await WaitingRoomClient.SendAsync(http, () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "orders") { Content = JsonContent.Create(new { ticket_id = ticketId, qty = 1 }) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
                return request;
            }, options.QueueWait > TimeSpan.Zero ? options.QueueWait : options.MaxDuration, cancellationToken);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            var failure = ErrorName(ex);
            if (tally)
            {
                _reserveErrors.AddOrUpdate(failure, 1, (_, n) => n + 1);
                Interlocked.Increment(ref _progress.Errors);
            }

            return new BuyerAnswer(AnswerKind.Failed, Stopwatch.GetTimestamp(), Detail: failure);
        }

        if (tally && answer.Queued)
        {
            Interlocked.Increment(ref _queued);
            if (!answer.StillQueued)
            {
                _admissions.Record(Stopwatch.GetElapsedTime(answer.FirstAnswerAt, answer.AnsweredAt));
            }
        }

        long? admittedAt = answer.Queued && !answer.StillQueued ? answer.AnsweredAt : null;
        if (answer.Status == HttpStatusCode.Created)
        {
            if (tally)
            {
                await ReservedAsync(http, token, answer.Body, pay, cancellationToken);
            }

            return new BuyerAnswer(AnswerKind.Reserved, answer.FirstAnswerAt, answer.Queued, admittedAt);
        }

        if (answer.Status == HttpStatusCode.Conflict && answer.ProblemType == SoldOutType)
        {
            if (tally)
            {
                Interlocked.Increment(ref _progress.SoldOut);
            }

            return new BuyerAnswer(AnswerKind.SoldOut, answer.FirstAnswerAt, answer.Queued, admittedAt);
        }

        var error = $"{(int)answer.Status} {answer.ProblemType ?? answer.Status.ToString()}";
        if (tally)
        {
            _reserveErrors.AddOrUpdate(error, 1, (_, n) => n + 1);
            Interlocked.Increment(ref _progress.Errors);
        }

        return new BuyerAnswer(answer.StillQueued ? AnswerKind.StillQueued : AnswerKind.Refused, answer.FirstAnswerAt, answer.Queued, admittedAt, error);
    }

    private async Task ReservedAsync(HttpClient http, string token, string body, bool pay, CancellationToken cancellationToken)
    {
        using var order = JsonDocument.Parse(body);
        var orderId = order.RootElement.GetProperty("order_id").GetGuid();
        var expiresAt = order.RootElement.GetProperty("expires_at").GetDateTimeOffset();
        _holds[orderId] = new Hold(token, expiresAt);
        Interlocked.Increment(ref _progress.Reserved);
        if (pay && FlashSaleReport.ShouldPay(Interlocked.Increment(ref _successes) - 1, options.PayShare))
        {
            try
            {
                if (await PayAsync(http, token, orderId, expiresAt, cancellationToken))
                {
                    _holds[orderId] = new Hold(token, expiresAt, Paid: true);
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or JsonException)
            {
                Interlocked.Increment(ref _paymentErrors);
            }
        }
        else if (!pay)
        {
            Interlocked.Increment(ref _successes);
        }
    }

    /// <summary>Pays with the test card; "not payable yet" (the payment row is on its way), 429 and 503 are waited out until the hold ends.</summary>
    /// <returns>Whether the payment succeeded.</returns>
    private async Task<bool> PayAsync(HttpClient http, string token, Guid orderId, DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "payments/confirm")
            {
                Content = JsonContent.Create(new { order_id = orderId, payment_method = "pm_card_visa" }),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            if (response.StatusCode == HttpStatusCode.OK && PaymentStatus(body) == "SUCCEEDED")
            {
                Interlocked.Increment(ref _paymentsSucceeded);
                Interlocked.Increment(ref _progress.Paid);
                return true;
            }

            var retryable = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.ServiceUnavailable
                || (response.StatusCode == HttpStatusCode.Conflict && ProblemType(body) == NotYetPayableType);
            var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
            if (!retryable || DateTimeOffset.UtcNow + wait >= expiresAt)
            {
                Interlocked.Increment(ref _paymentErrors);
                return false;
            }

            await Task.Delay(wait, cancellationToken);
        }
    }

    /// <summary>
    /// Polls the reserved orders until every one has ended, or the time cap. Lateness is judged on the
    /// end time order-service recorded (the timeline), not on when a poll saw it: a 2 s poll is no
    /// measure of a saga. Counts those that ended more than <see cref="LateAfter"/> past expires_at +
    /// settle window, and when the last one ended. The watcher is load on the system it measures, so it
    /// asks as little as it can: an unpaid order only once its settle window is over, its status only (one row),
    /// and its timeline once, when it has ended.
    /// </summary>
    private async Task WatchUntilEndedAsync(HttpClient http, Stopwatch clock, CancellationToken cancellationToken)
    {
        var live = _holds.ToDictionary();
        try
        {
            while (live.Count > 0)
            {
                var ended = new ConcurrentDictionary<Guid, (string Status, DateTimeOffset At)>();
                var now = DateTimeOffset.UtcNow;
                // Paid from _holds, not the snapshot: payers may still be paying while the watcher runs.
                var due = live.Where(hold => _holds[hold.Key].Paid || hold.Value.ExpiresAt + targets.SettleWindow <= now);
                await Parallel.ForEachAsync(due, new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (hold, ct) =>
                {
                    if (await GetEndAsync(http, hold.Value.Token, hold.Key, ct) is { } end)
                    {
                        ended[hold.Key] = end;
                    }
                });
                foreach (var (orderId, (status, endedAt)) in ended)
                {
                    var lag = endedAt - (live[orderId].ExpiresAt + targets.SettleWindow);
                    if (status == OrderStatuses.Expired)
                    {
                        _endLag.Record(lag);
                    }

                    if (lag > LateAfter)
                    {
                        _lateOrders++;
                    }

                    live.Remove(orderId);
                    _progress.Ended(status);
                    _settled = clock.Elapsed;
                }

                _progress.Live = live.Count;
                if (live.Count > 0)
                {
                    await Task.Delay(PollInterval, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _settled = clock.Elapsed;
            console.MarkupLine("[yellow]--max-duration reached: the verdict counts the orders still live as they are.[/]");
        }
    }

    /// <summary>The order's status and when order-service ended it; null while it is live (or unreadable).</summary>
    private static async Task<(string Status, DateTimeOffset At)?> GetEndAsync(HttpClient http, string token, Guid orderId, CancellationToken cancellationToken)
    {
        using (var order = await GetJsonAsync(http, token, $"orders/{orderId}", cancellationToken))
        {
            if (order?.RootElement.GetProperty("status").GetString() is null or OrderStatuses.Pending)
            {
                return null;
            }
        }

        using var timeline = await GetJsonAsync(http, token, $"orders/{orderId}/timeline", cancellationToken);
        if (timeline is null)
        {
            return null;
        }

        var status = timeline.RootElement.GetProperty("status").GetString()!;
        var end = timeline.RootElement.GetProperty("entries").EnumerateArray()
            .FirstOrDefault(e => e.GetProperty("step").GetString() is TimelineSteps.Confirmed or TimelineSteps.Expired or TimelineSteps.Cancelled);
        // An ended order stays ended, so only the entry recording the end remains to be found.
        return end.ValueKind == JsonValueKind.Undefined
            ? null
            : (status, end.GetProperty("at").GetDateTimeOffset());
    }

    private static async Task<JsonDocument?> GetJsonAsync(HttpClient http, string token, string path, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await http.SendAsync(request, cancellationToken);
        return response.IsSuccessStatusCode ? JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken)) : null;
    }

    /// <summary>order-service's record of every buyer's orders for this event (GET /orders as that buyer).</summary>
    private async Task<IReadOnlyList<SoldOrder>> ReadOrdersAsync(HttpClient http, string ticketId, CancellationToken cancellationToken)
    {
        var orders = new ConcurrentBag<SoldOrder>();
        await Parallel.ForEachAsync(Enumerable.Range(0, options.Buyers), new ParallelOptions { MaxDegreeOfParallelism = 32, CancellationToken = cancellationToken }, async (buyer, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "orders?limit=100");
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Token(buyer));
            using var response = await http.SendAsync(request, ct);
            response.EnsureSuccessStatusCode();
            using var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            foreach (var order in page.RootElement.GetProperty("orders").EnumerateArray().Where(o => o.GetProperty("ticket_id").GetString() == ticketId))
            {
                orders.Add(ParseOrder(order, BuyerId(buyer)));
            }
        });
        return [.. orders];
    }

    private static SoldOrder ParseOrder(JsonElement order, string userId) => new(
        order.GetProperty("order_id").GetGuid(),
        userId,
        order.GetProperty("status").GetString()!,
        order.GetProperty("qty").GetInt32(),
        order.GetProperty("expires_at").GetDateTimeOffset(),
        [.. order.GetProperty("seats").EnumerateArray().Select(s => s.GetProperty("seat_id").GetGuid())]);

    private static string? PaymentStatus(string body)
    {
        using var payment = JsonDocument.Parse(body);
        return payment.RootElement.GetProperty("status").GetString();
    }

    private static string? ProblemType(string body)
    {
        try
        {
            using var problem = JsonDocument.Parse(body);
            return problem.RootElement.TryGetProperty("type", out var type) ? type.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Live counters for the status line.</summary>
    private sealed class Progress
    {
        public int Reserved;
        public int SoldOut;
        public int Errors;
        public int Paid;
        public int Confirmed;
        public int Expired;
        public int Cancelled;
        public int Live = -1;

        public void Ended(string status)
        {
            switch (status)
            {
                case OrderStatuses.Confirmed:
                    Interlocked.Increment(ref Confirmed);
                    break;
                case OrderStatuses.Expired:
                    Interlocked.Increment(ref Expired);
                    break;
                default:
                    Interlocked.Increment(ref Cancelled);
                    break;
            }
        }

        public string Describe(TimeSpan elapsed)
        {
            var pending = Live >= 0 ? Live : Reserved - Confirmed - Expired - Cancelled;
            return $"{elapsed.TotalSeconds:0}s  reserved {Reserved} · sold-out answers {SoldOut} · errors {Errors} · paid {Paid} · "
                + $"confirmed {Confirmed} · expired {Expired} · cancelled {Cancelled} · pending {pending}";
        }
    }
}
