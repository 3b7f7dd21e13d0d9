using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Google.Protobuf.WellKnownTypes;
using Npgsql;
using Spectre.Console;
using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;
using TicketSaga.Ticket.V1;

namespace TicketSaga.Cli.Load;

/// <summary>What `load expiry-storm` is asked to do.</summary>
/// <param name="Holds">Unpaid holds to create, one buyer each, on one general-admission ticket type.</param>
/// <param name="CreateRate">Holds asked for per second (open loop), so that their expires_at fall close together.</param>
internal sealed record ExpiryStormOptions(int Holds, double CreateRate, Uri Gateway, TimeSpan MaxDuration, int Connections);

/// <summary>
/// The expiry storm, measured from the databases: every order's <c>expires_at</c> against when
/// expiration-service's reminder announced it (the <c>expiration.order.expiration_complete</c>
/// message in the runtime's pub/sub log: the reminder lag) and when order-service ended it
/// (<c>ended_at</c>, after the settle window), and the stock as ticket-service counts it.
/// </summary>
/// <param name="ExpiresAtSpreadS">Between the first and the last hold's expires_at: how "simultaneous" the storm was.</param>
/// <param name="CompensatedAfterS">From the last expires_at + settle window until every order ended and the stock was back.</param>
/// <param name="EndLag">ended_at − (expires_at + settle window) per order.</param>
/// <param name="ReminderLag">expiration_complete published − expires_at per order.</param>
internal sealed record ExpiryStormResult(
    int Holds,
    int Created,
    IReadOnlyDictionary<string, int> CreateErrors,
    double CreateS,
    double ExpiresAtSpreadS,
    double SettleWindowS,
    int Expired,
    int OtherEnded,
    int StillLive,
    bool StockBack,
    double CompensatedAfterS,
    LatencySummary EndLag,
    LatencySummary ReminderLag,
    int RemindersSeen,
    double StormCpuMs,
    double StormPostgresCpuMs,
    string LoadAverage)
{
    public bool Healthy => StillLive == 0 && StockBack && Expired == Created;
}

internal sealed class ExpiryStorm(ExpiryStormOptions options, FlashSaleTargets targets, string postgres, IAnsiConsole console)
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(500);

    private readonly string _runId = Guid.CreateVersion7().ToString("N")[^8..];

    public async Task<ExpiryStormResult> RunAsync(CancellationToken cancellationToken)
    {
        using var capped = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        capped.CancelAfter(options.MaxDuration);
        var tickets = new Tickets.TicketsClient(targets.Tickets);
        var ticket = await tickets.CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            TicketId = Guid.CreateVersion7().ToString(),
            EventId = Guid.CreateVersion7().ToString(),
            Name = $"Expiry storm {_runId}",
            Capacity = options.Holds,
            UnitPrice = new Money { AmountMinor = 5000, Currency = "EUR" },
            MaxPerUser = 1,
            SaleStartsAt = Timestamp.FromDateTime(DateTime.UtcNow.AddHours(-1)),
            SaleEndsAt = Timestamp.FromDateTime(DateTime.UtcNow.AddDays(1)),
        }, cancellationToken: cancellationToken);

        var holds = new ConcurrentDictionary<Guid, DateTimeOffset>();
        var errors = new ConcurrentDictionary<string, int>();
        var scheduler = new OpenLoopScheduler(options.CreateRate, TimeSpan.FromSeconds(options.Holds / options.CreateRate), maxOutstanding: 20_000);
        var settings = new AuthSettings { SigningKey = targets.SigningKey };
        var tokens = Enumerable.Range(0, scheduler.Arrivals)
            .Select(buyer => DevTokens.Create(settings, $"storm-{_runId}-{buyer:D6}", options.MaxDuration + TimeSpan.FromMinutes(10))).ToArray();
        console.MarkupLineInterpolated($"[grey]Ticket type[/] {ticket.TicketId}: {options.Holds} holds at {options.CreateRate:0.#}/s");

        using var http = FlashSale.CreateClient(new FlashSaleOptions(options.Holds, options.Holds, 0, options.Gateway, options.MaxDuration, Connections: options.Connections));
        var creating = Stopwatch.StartNew();
        await scheduler.RunAsync(async (buyer, ct) =>
        {
            var answer = await WaitingRoomClient.SendAsync(http, () =>
            {
                var request = new HttpRequestMessage(HttpMethod.Post, "orders") { Content = JsonContent.Create(new { ticket_id = ticket.TicketId, qty = 1 }) };
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", tokens[buyer]);
                return request;
            }, options.MaxDuration, ct);
            if (answer.Status == HttpStatusCode.Created)
            {
                using var order = JsonDocument.Parse(answer.Body);
                holds[order.RootElement.GetProperty("order_id").GetGuid()] = order.RootElement.GetProperty("expires_at").GetDateTimeOffset();
                return new BuyerAnswer(AnswerKind.Reserved, answer.FirstAnswerAt);
            }

            errors.AddOrUpdate($"{(int)answer.Status} {answer.ProblemType}", 1, (_, n) => n + 1);
            return new BuyerAnswer(AnswerKind.Refused, answer.FirstAnswerAt);
        }, capped.Token);
        var createS = creating.Elapsed.TotalSeconds;
        var expiries = holds.Values.DefaultIfEmpty(DateTimeOffset.UtcNow).ToList();
        var (firstExpiry, lastExpiry) = (expiries.Min(), expiries.Max());
        console.MarkupLineInterpolated($"[grey]{holds.Count} holds in {createS:N1} s; they expire from {firstExpiry:HH:mm:ss.f} to {lastExpiry:HH:mm:ss.f} (+ settle window {targets.SettleWindow.TotalSeconds:0} s)[/]");

        await using var orders = DataSource(postgres, "orders");
        await using var runtime = DataSource(postgres, "dapr_runtime");
        var orderIds = holds.Keys.ToArray();
        if (orderIds.Length > 0 && !await AnyFoundAsync(orders, orderIds, cancellationToken))
        {
            // Else every order reads as ended at once and the storm reports nothing it measured.
            throw new NotUpsDatabaseException(
                $"None of the {orderIds.Length} orders just made is in {new NpgsqlConnectionStringBuilder(postgres) { Password = null }}: pass --postgres (or TICKETSAGA_POSTGRES) with the PostgreSQL that `up` uses.");
        }

        // The storm's CPU: from the first expiry until the last order ended.
        var untilFirst = firstExpiry - DateTimeOffset.UtcNow;
        if (untilFirst > TimeSpan.Zero)
        {
            await Task.Delay(untilFirst, capped.Token);
        }

        var before = ProcessCpu.SampleSystem(targets.UpProcess);
        var (live, stockBack) = (orderIds.Length, false);
        try
        {
            while (live > 0 || !stockBack)
            {
                await Task.Delay(PollInterval, capped.Token);
                live = await LiveAsync(orders, orderIds, capped.Token);
                var availability = (await tickets.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = ticket.TicketId }, cancellationToken: capped.Token)).Availability;
                stockBack = availability.Held == 0 && availability.Sold == 0 && availability.Available == availability.Capacity;
                console.MarkupLineInterpolated($"[grey]{DateTimeOffset.UtcNow:HH:mm:ss.f}  live {live}  held {availability.Held}  available {availability.Available}[/]");
            }
        }
        catch (OperationCanceledException) when (capped.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            console.MarkupLine("[yellow]--max-duration reached: reporting the storm as it stands.[/]");
        }

        var compensatedAt = DateTimeOffset.UtcNow;
        var cpu = ProcessCpu.SampleSystem(targets.UpProcess).Since(before);
        var ended = await EndedAsync(orders, orderIds, cancellationToken);
        var reminders = await RemindersAsync(runtime, orderIds, cancellationToken);
        var endLag = new LatencyHistogram();
        var reminderLag = new LatencyHistogram();
        foreach (var (orderId, status, endedAt) in ended)
        {
            endLag.Record(endedAt - (holds[orderId] + targets.SettleWindow));
        }

        foreach (var (orderId, publishedAt) in reminders.Where(r => holds.ContainsKey(r.OrderId)))
        {
            reminderLag.Record(publishedAt - holds[orderId]);
        }

        return new ExpiryStormResult(
            options.Holds,
            holds.Count,
            new SortedDictionary<string, int>(errors),
            Math.Round(createS, 1),
            Math.Round((lastExpiry - firstExpiry).TotalSeconds, 1),
            targets.SettleWindow.TotalSeconds,
            ended.Count(e => e.Status == OrderStatuses.Expired),
            ended.Count(e => e.Status != OrderStatuses.Expired),
            live,
            stockBack,
            Math.Round((compensatedAt - (lastExpiry + targets.SettleWindow)).TotalSeconds, 1),
            LatencySummary.Of(endLag),
            LatencySummary.Of(reminderLag),
            reminders.Count,
            Math.Round(cpu.TicketSagaMs),
            Math.Round(cpu.PostgresMs),
            Commands.LoadCommands.LoadAverage());
    }

    private static NpgsqlDataSource DataSource(string server, string database) =>
        NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(server) { Database = database }.ConnectionString);

    private static async Task<bool> AnyFoundAsync(NpgsqlDataSource orders, Guid[] orderIds, CancellationToken cancellationToken)
    {
        await using var command = orders.CreateCommand("SELECT EXISTS (SELECT 1 FROM orders WHERE order_id = ANY($1))");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = orderIds });
        try
        {
            return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.UndefinedTable)
        {
            return false;
        }
    }

    private static async Task<int> LiveAsync(NpgsqlDataSource orders, Guid[] orderIds, CancellationToken cancellationToken)
    {
        await using var command = orders.CreateCommand("SELECT count(*) FROM orders WHERE order_id = ANY($1) AND ended_at IS NULL");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = orderIds });
        return (int)(long)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    private static async Task<List<(Guid OrderId, string Status, DateTimeOffset EndedAt)>> EndedAsync(NpgsqlDataSource orders, Guid[] orderIds, CancellationToken cancellationToken)
    {
        await using var command = orders.CreateCommand("SELECT order_id, status, ended_at FROM orders WHERE order_id = ANY($1) AND ended_at IS NOT NULL");
        command.Parameters.Add(new NpgsqlParameter<Guid[]> { TypedValue = orderIds });
        var ended = new List<(Guid, string, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            ended.Add((reader.GetGuid(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return ended;
    }

    /// <summary>When each order's expiration_complete entered the pub/sub log (the first, if redelivered).</summary>
    private static async Task<List<(Guid OrderId, DateTimeOffset PublishedAt)>> RemindersAsync(NpgsqlDataSource runtime, Guid[] orderIds, CancellationToken cancellationToken)
    {
        await using var command = runtime.CreateCommand(
            """
            SELECT (coalesce(cloud_event->'data'->>'orderId', cloud_event->'data'->>'order_id'))::uuid AS order_id, min(published_at)
            FROM pubsub_messages
            WHERE topic = $1 AND coalesce(cloud_event->'data'->>'orderId', cloud_event->'data'->>'order_id') = ANY($2)
            GROUP BY 1
            """);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Topics.ExpirationComplete });
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = [.. orderIds.Select(id => id.ToString())] });
        var published = new List<(Guid, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            published.Add((reader.GetGuid(0), reader.GetFieldValue<DateTimeOffset>(1)));
        }

        return published;
    }
}

/// <summary>The storm was pointed at a PostgreSQL other than the one the running `up` writes to.</summary>
internal sealed class NotUpsDatabaseException(string message) : Exception(message);
