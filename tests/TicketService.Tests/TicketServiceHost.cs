using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using TicketSaga.Testing;
using TicketSaga.Ticket.V1;
using TicketSaga.TicketService.Reservations;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.TicketService.Tests;

/// <summary>
/// ticket-service hosted in-process on its own fresh database, called through the generated gRPC client.
/// The reclaim loop runs one pass at start (on an empty database), then effectively never: tests run passes themselves.
/// </summary>
public sealed class TicketServiceHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;
    private readonly GrpcChannel _channel;

    private TicketServiceHost(string connectionString)
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host => host
            .UseSetting("ConnectionStrings:tickets", connectionString)
            .UseSetting("Reservations:AbandonedHoldGrace", "00:00:00")
            .UseSetting("Reservations:ReclaimInterval", "1.00:00:00")
            .UseSetting("Logging:LogLevel:Default", "Warning")
            .ConfigureLogging(logging => logging.AddProvider(Warnings)));
        _ = _factory.Server;
        _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = _factory.Server.CreateHandler() });
        Client = new Tickets.TicketsClient(_channel);
        Database = NpgsqlDataSource.Create(connectionString);
    }

    public Tickets.TicketsClient Client { get; }

    /// <summary>What the service logged at Warning and above: a batch that fell back to one-by-one says so there.</summary>
    public LoggedWarnings Warnings { get; } = new();

    /// <summary>The service's database, for assertions only.</summary>
    public NpgsqlDataSource Database { get; }

    public ReservationLedger Ledger => _factory.Services.GetRequiredService<ReservationLedger>();

    public static async Task<TicketServiceHost> StartAsync(PostgresServer postgres) =>
        new(await postgres.CreateDatabaseAsync("tickets_test"));

    public async Task<TicketType> CreateTicketTypeAsync(
        int capacity, int maxPerUser = 10, long priceMinor = 4_500, DateTimeOffset? saleStartsAt = null, DateTimeOffset? saleEndsAt = null,
        string seatPlanId = "", string section = "") =>
        await Client.CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            EventId = Guid.CreateVersion7().ToString(),
            Name = "General admission",
            Capacity = capacity,
            UnitPrice = new Money { AmountMinor = priceMinor, Currency = "EUR" },
            MaxPerUser = maxPerUser,
            SaleStartsAt = Timestamp.FromDateTimeOffset(saleStartsAt ?? DateTimeOffset.UtcNow.AddDays(-1)),
            SaleEndsAt = Timestamp.FromDateTimeOffset(saleEndsAt ?? DateTimeOffset.UtcNow.AddDays(30)),
            SeatPlanId = seatPlanId,
            Section = section,
        }, cancellationToken: TestContext.Current.CancellationToken);

    public static ReserveQuotaRequest Hold(TicketType ticket, int qty = 1, string? userId = null, DateTimeOffset? expiresAt = null) => new()
    {
        TicketId = ticket.TicketId,
        ReservationId = Guid.CreateVersion7().ToString(),
        UserId = userId ?? "user-" + Guid.NewGuid().ToString("N")[..8],
        Qty = qty,
        ExpiresAt = Timestamp.FromDateTimeOffset(expiresAt ?? DateTimeOffset.UtcNow.AddMinutes(15)),
    };

    public async Task<ReserveQuotaResponse> ReserveAsync(ReserveQuotaRequest request) =>
        await Client.ReserveQuotaAsync(request, cancellationToken: TestContext.Current.CancellationToken);

    public async Task<Availability> AvailabilityAsync(TicketType ticket) =>
        (await Client.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = ticket.TicketId },
            cancellationToken: TestContext.Current.CancellationToken)).Availability;

    /// <summary>Every row of every table, in a stable order: equal snapshots mean nothing changed.</summary>
    public async Task<string> SnapshotAsync()
    {
        await using var command = Database.CreateCommand(
            """
            SELECT concat_ws(E'\n',
                (SELECT string_agg(row_to_json(t)::text, E'\n' ORDER BY t.ticket_id) FROM ticket_types t),
                (SELECT string_agg(row_to_json(s)::text, E'\n' ORDER BY s.ticket_id, s.slot) FROM ticket_quota_slots s),
                (SELECT string_agg(row_to_json(u)::text, E'\n' ORDER BY u.ticket_id, u.user_id) FROM ticket_user_quota u),
                (SELECT string_agg(row_to_json(r)::text, E'\n' ORDER BY r.reservation_id) FROM reservations r),
                (SELECT string_agg(row_to_json(d)::text, E'\n' ORDER BY d.reservation_id) FROM reservation_tombstones d))
            """);
        return (string)(await command.ExecuteScalarAsync(TestContext.Current.CancellationToken))!;
    }

    /// <summary>
    /// The invariants, read straight from the tables: available + held + sold = capacity; held and sold
    /// equal the HELD and SOLD reservations; each user's tally equals their live reservations and respects max_per_user.
    /// </summary>
    public async Task AssertConservedAsync(TicketType ticket)
    {
        await using var command = Database.CreateCommand(
            """
            SELECT (SELECT sum(capacity) FROM ticket_quota_slots WHERE ticket_id = @t),
                   (SELECT sum(available) + sum(held) + sum(sold) FROM ticket_quota_slots WHERE ticket_id = @t),
                   (SELECT sum(held) FROM ticket_quota_slots WHERE ticket_id = @t),
                   (SELECT coalesce(sum(qty), 0) FROM reservations WHERE ticket_id = @t AND status = 'HELD'),
                   (SELECT sum(sold) FROM ticket_quota_slots WHERE ticket_id = @t),
                   (SELECT coalesce(sum(qty), 0) FROM reservations WHERE ticket_id = @t AND status = 'SOLD'),
                   (SELECT count(*) FROM ticket_user_quota q WHERE ticket_id = @t AND qty <> (
                        SELECT coalesce(sum(r.qty), 0) FROM reservations r
                        WHERE r.ticket_id = q.ticket_id AND r.user_id = q.user_id AND r.status IN ('HELD', 'SOLD'))),
                   (SELECT coalesce(max(qty), 0) FROM ticket_user_quota WHERE ticket_id = @t)
            """);
        command.Parameters.AddWithValue("t", Guid.Parse(ticket.TicketId));
        await using var reader = await command.ExecuteReaderAsync(TestContext.Current.CancellationToken);
        await reader.ReadAsync(TestContext.Current.CancellationToken);
        Assert.Equal(ticket.Availability.Capacity, reader.GetInt64(0));
        Assert.Equal(ticket.Availability.Capacity, reader.GetInt64(1));
        Assert.Equal(reader.GetInt64(3), reader.GetInt64(2));
        Assert.Equal(reader.GetInt64(5), reader.GetInt64(4));
        Assert.Equal(0, reader.GetInt64(6));
        Assert.InRange(reader.GetInt32(7), 0, ticket.MaxPerUser);
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _factory.DisposeAsync();
        await Database.DisposeAsync();
    }
}

/// <summary>Keeps the messages logged at Warning and above.</summary>
public sealed class LoggedWarnings : ILoggerProvider
{
    private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

    public IReadOnlyList<string> Messages => [.. _messages];

    public ILogger CreateLogger(string categoryName) => new Logger(_messages);

    public void Dispose()
    {
    }

    private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> messages) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                messages.Enqueue(formatter(state, exception));
            }
        }
    }
}

public static class GrpcAssert
{
    public static async Task<RpcException> FailsWith(StatusCode expected, Func<Task> call)
    {
        var error = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == error.StatusCode, $"Expected {expected}, got {error.StatusCode}: {error.Status.Detail}");
        return error;
    }
}
