extern alias TicketService;

using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using HdrHistogram;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Npgsql;
using Dapr.Client;
using Microsoft.Extensions.Logging.Abstractions;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Postgres;
using TicketSaga.Ticket.V1;

namespace TicketSaga.Cli.Bench;

/// <summary>
/// Sells one hot ticket type through ticket-service as fast as the callers can — called directly on
/// its gRPC endpoint, then through the embedded runtime's sidecars as order-service calls it (the
/// Dapr tax) — then runs the naive baseline — one row, one conditional decrement per transaction —
/// on the same PostgreSQL, and checks nothing was oversold. All three in one run, so their ratios
/// hold however busy the machine is.
/// </summary>
public static class InventoryBenchmark
{
    private const int HotCapacity = 100_000_000;

    public sealed record Options(TimeSpan Duration, TimeSpan Warmup, int Concurrency, string? Postgres);

    /// <param name="Ratio">Direct gRPC reserves per raw row update: ticket-service against the database's naive limit.</param>
    /// <param name="SidecarRatio">Reserves through the sidecars per direct reserve: 1 − this is the Dapr tax on throughput.</param>
    public sealed record Result(
        double GrpcReservesPerS,
        double SidecarReservesPerS,
        double RawRowUpdatesPerS,
        double Ratio,
        double SidecarRatio,
        double GrpcP50Ms,
        double GrpcP99Ms,
        double SidecarP50Ms,
        double SidecarP99Ms,
        double RawP50Ms,
        double RawP99Ms,
        long Oversold,
        bool ConservationHolds,
        long GrpcReserves,
        long GrpcErrors,
        long SidecarReserves,
        long SidecarErrors,
        long Held,
        long RawRowUpdates,
        int RawConnections,
        int Concurrency,
        double DurationS,
        string Postgres,
        string LoadAverage);

    private sealed record Phase(long Calls, long Errors, LongHistogram Latencies, TimeSpan Measured)
    {
        public double PerSecond => Calls / Measured.TotalSeconds;

        public double Percentile(double p) => Latencies.TotalCount == 0 ? 0 : Latencies.GetValueAtPercentile(p) / 1000.0;
    }

    public static async Task<Result> RunAsync(Options options, TextWriter? progress, CancellationToken cancellationToken)
    {
        var (server, source, cluster) = await ResolvePostgresAsync(options.Postgres, progress, cancellationToken);
        await using var _ = cluster;
        var database = new NpgsqlConnectionStringBuilder(server)
        {
            Database = "ticketsaga_bench_" + Guid.NewGuid().ToString("N")[..8],
            MaxPoolSize = Math.Max(100, options.Concurrency + 20),
        }.ConnectionString;
        try
        {
            progress?.WriteLine($"ticket-service on {source}; {options.Concurrency} callers, {options.Warmup.TotalSeconds} s warm-up + {options.Duration.TotalSeconds} s per phase");
            var (grpc, sidecar, ticketId, granted) = await RunGrpcPhasesAsync(server, database, options, progress, cancellationToken);
            var (held, oversold, conserved) = await CheckQuotaAsync(database, ticketId, cancellationToken);
            progress?.WriteLine($"gRPC: {grpc.PerSecond:N0} reserves/s direct, {sidecar.PerSecond:N0} through the sidecars; raw single-row UPDATE next");
            var (raw, connections) = await RunRawPhaseAsync(database, options, cancellationToken);

            return new Result(
                Math.Round(grpc.PerSecond, 1), Math.Round(sidecar.PerSecond, 1), Math.Round(raw.PerSecond, 1),
                Math.Round(grpc.PerSecond / raw.PerSecond, 3), Math.Round(sidecar.PerSecond / grpc.PerSecond, 3),
                grpc.Percentile(50), grpc.Percentile(99), sidecar.Percentile(50), sidecar.Percentile(99), raw.Percentile(50), raw.Percentile(99),
                oversold, conserved && held == granted, grpc.Calls, grpc.Errors, sidecar.Calls, sidecar.Errors, held,
                raw.Calls, connections, options.Concurrency, options.Duration.TotalSeconds, source,
                File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown");
        }
        finally
        {
            await DropDatabaseAsync(server, new NpgsqlConnectionStringBuilder(database).Database!);
        }
    }

    internal static async Task<(string ConnectionString, string Source, LocalPostgresCluster? Cluster)> ResolvePostgresAsync(
        string? option, TextWriter? progress, CancellationToken cancellationToken)
    {
        if (!string.IsNullOrWhiteSpace(option))
        {
            return (option, "--postgres " + Describe(option), null);
        }

        var environment = Environment.GetEnvironmentVariable("TICKETSAGA_POSTGRES");
        if (!string.IsNullOrWhiteSpace(environment))
        {
            return (environment, "TICKETSAGA_POSTGRES " + Describe(environment), null);
        }

        progress?.WriteLine("No --postgres or TICKETSAGA_POSTGRES: starting a throwaway local cluster (fsync off, so figures flatter both sides).");
        var directory = Path.Combine(Path.GetTempPath(), "ticketsaga-bench-pg-" + Guid.NewGuid().ToString("N")[..8]);
        var cluster = await LocalPostgresCluster.StartAsync(directory, ephemeral: true, cancellationToken: cancellationToken);
        return (cluster.ConnectionString, $"throwaway local cluster 127.0.0.1:{cluster.Port} (ephemeral, fsync off)", cluster);
    }

    private static string Describe(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}";
    }

    /// <summary>
    /// ticket-service on real Kestrel, called directly and then through two sidecars of the embedded
    /// runtime (the caller's, as order-service's, and ticket-service's own). Also returns every hold
    /// granted, warm-ups included: the table must hold exactly those.
    /// </summary>
    private static async Task<(Phase Direct, Phase Sidecar, Guid TicketId, long Granted)> RunGrpcPhasesAsync(
        string server, string database, Options options, TextWriter? progress, CancellationToken cancellationToken)
    {
        var port = FreeLoopbackPort();
        // This tool stands in for the sidecar, so it holds the app's API token.
        var appApiToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        // The factory would look for the service's project folder from the working directory; its
        // appsettings.json is copied beside this tool, which makes this folder a fine content root.
        Environment.SetEnvironmentVariable("ASPNETCORE_TEST_CONTENTROOT_TICKETSERVICE", AppContext.BaseDirectory);
        await using var service = new WebApplicationFactory<TicketService::Program>().WithWebHostBuilder(host => host
            .UseEnvironment("Production")
            .UseSetting("APP_API_TOKEN", appApiToken)
            .UseSetting("ConnectionStrings:tickets", database)
            .UseSetting("Logging:LogLevel:Default", "Warning"));
        // Real Kestrel on loopback, cleartext HTTP/2 (h2c) as under Dapr: not the in-memory TestServer.
        service.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port, listen => listen.Protocols = HttpProtocols.Http2));
        service.StartServer();

        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new Tickets.TicketsClient(channel.Intercept(metadata =>
        {
            metadata.Add("dapr-api-token", appApiToken);
            return metadata;
        }));
        var ticket = await client.CreateTicketTypeAsync(new CreateTicketTypeRequest
        {
            EventId = Guid.CreateVersion7().ToString(),
            Name = "Hot ticket (bench)",
            Capacity = HotCapacity,
            UnitPrice = new Money { AmountMinor = 5_000, Currency = "EUR" },
            MaxPerUser = 4,
            SaleStartsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-1)),
            SaleEndsAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(1)),
        }, cancellationToken: cancellationToken);

        long granted = 0;
        Func<int, long, CancellationToken, Task> Reserve(Tickets.TicketsClient tickets, string phase) => async (caller, call, ct) =>
        {
            await tickets.ReserveQuotaAsync(new ReserveQuotaRequest
            {
                TicketId = ticket.TicketId,
                ReservationId = Guid.CreateVersion7().ToString(),
                UserId = $"bench-{phase}-{caller}-{call}",
                Qty = 1,
                ExpiresAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(15)),
            }, cancellationToken: ct);
            Interlocked.Increment(ref granted);
        };
        var direct = await MeasureAsync(options, Reserve(client, "direct"), cancellationToken);

        progress?.WriteLine("Through the sidecars next: the embedded runtime on its own database");
        var runtimeDatabase = new NpgsqlConnectionStringBuilder(database).Database + "_rt";
        try
        {
            await using var runtime = await EmbeddedRuntime.StartAsync(
                new RuntimeOptions { PostgresConnectionString = server, Database = runtimeDatabase }, NullLoggerFactory.Instance, cancellationToken);
            await runtime.AddSidecarAsync(
                new AppDescriptor(AppIds.TicketService, port, AppChannelProtocol.Grpc, PortAllocator.FreePort(), PortAllocator.FreePort()) { AppApiToken = appApiToken },
                cancellationToken);
            var caller = await runtime.AddSidecarAsync(
                new AppDescriptor(AppIds.OrderService, PortAllocator.FreePort(), AppChannelProtocol.Grpc, PortAllocator.FreePort(), PortAllocator.FreePort()),
                cancellationToken);
            var throughSidecars = new Tickets.TicketsClient(DaprClient.CreateInvocationInvoker(AppIds.TicketService, $"http://127.0.0.1:{caller.App.GrpcPort}"));
            var sidecar = await MeasureAsync(options, Reserve(throughSidecars, "sidecar"), cancellationToken);
            return (direct, sidecar, Guid.Parse(ticket.TicketId), granted);
        }
        finally
        {
            await DropDatabaseAsync(server, runtimeDatabase);
        }
    }

    private static async Task<(Phase Phase, int Connections)> RunRawPhaseAsync(string database, Options options, CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(database);
        await using (var setup = dataSource.CreateCommand(
            "CREATE TABLE hot_row (id integer PRIMARY KEY, available integer NOT NULL); INSERT INTO hot_row VALUES (1, 2000000000)"))
        {
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        // One dedicated connection per caller, opened up front: the baseline really runs N transactions at once.
        var connections = new NpgsqlConnection[options.Concurrency];
        var commands = new NpgsqlCommand[options.Concurrency];
        for (var i = 0; i < connections.Length; i++)
        {
            connections[i] = await dataSource.OpenConnectionAsync(cancellationToken);
            // The naive oversell guard: every buyer decrements the same row, each in its own transaction.
            commands[i] = new NpgsqlCommand("UPDATE hot_row SET available = available - 1 WHERE id = $1 AND available > 0", connections[i]);
            commands[i].Parameters.Add(new NpgsqlParameter<int> { TypedValue = 1 });
            await commands[i].PrepareAsync(cancellationToken);
        }

        try
        {
            var backends = connections.Select(c => c.ProcessID).Distinct().Count();
            var phase = await MeasureAsync(options, async (caller, _, ct) =>
            {
                if (await commands[caller].ExecuteNonQueryAsync(ct) != 1)
                {
                    throw new InvalidOperationException("The hot row ran out.");
                }
            }, cancellationToken);
            return (phase, backends);
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>Runs the callers through warm-up and the measured window; only calls that start in the window count.</summary>
    private static async Task<Phase> MeasureAsync(Options options, Func<int, long, CancellationToken, Task> call, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var measureFrom = options.Warmup;
        var measureUntil = options.Warmup + options.Duration;
        var callers = Enumerable.Range(0, options.Concurrency).Select(caller => Task.Run(async () =>
        {
            var latencies = new LongHistogram(TimeSpan.FromMinutes(1).Ticks / 10, 3);
            long calls = 0, errors = 0, n = 0;
            while (!cancellationToken.IsCancellationRequested)
            {
                var started = clock.Elapsed;
                if (started >= measureUntil)
                {
                    break;
                }

                var ok = true;
                try
                {
                    await call(caller, n++, cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    ok = false;
                }

                if (started >= measureFrom)
                {
                    latencies.RecordValue((long)(clock.Elapsed - started).TotalMicroseconds);
                    if (ok)
                    {
                        calls++;
                    }
                    else
                    {
                        errors++;
                    }
                }
            }

            return (latencies, calls, errors);
        }, cancellationToken)).ToList();

        var results = await Task.WhenAll(callers);
        var all = new LongHistogram(TimeSpan.FromMinutes(1).Ticks / 10, 3);
        foreach (var (latencies, _, _) in results)
        {
            all.Add(latencies);
        }

        return new Phase(results.Sum(r => r.calls), results.Sum(r => r.errors), all, options.Duration);
    }

    /// <summary>Held + sold against capacity, and available + held + sold = capacity, read from the service's tables.</summary>
    private static async Task<(long Held, long Oversold, bool Conserved)> CheckQuotaAsync(string database, Guid ticketId, CancellationToken cancellationToken)
    {
        await using var dataSource = NpgsqlDataSource.Create(database);
        await using var command = dataSource.CreateCommand(
            """
            SELECT t.capacity, sum(s.available), sum(s.held), sum(s.sold), min(s.available),
                   (SELECT count(*) FROM reservations r WHERE r.ticket_id = t.ticket_id AND r.status = 'HELD')
            FROM ticket_types t JOIN ticket_quota_slots s USING (ticket_id)
            WHERE t.ticket_id = @ticket GROUP BY t.ticket_id, t.capacity
            """);
        command.Parameters.AddWithValue("ticket", ticketId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        long capacity = reader.GetInt32(0), available = reader.GetInt64(1), held = reader.GetInt64(2), sold = reader.GetInt64(3);
        var oversold = Math.Max(0, held + sold - capacity) + Math.Max(0, -reader.GetInt32(4));
        var conserved = available + held + sold == capacity && held == reader.GetInt64(5);
        return (held, oversold, conserved);
    }

    private static async Task DropDatabaseAsync(string server, string database)
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(server) { Database = "postgres", Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await PostgresDatabase.DropAsync(connection, database);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
