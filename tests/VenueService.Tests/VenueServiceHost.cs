extern alias VenueServiceApp;

using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using TicketSaga.Testing;
using TicketSaga.Venue.V1;
using VenueServiceApp::TicketSaga.VenueService;
using VenueProgram = VenueServiceApp::Program;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.VenueService.Tests;

/// <summary>
/// The real venue-service (WebApplicationFactory) on a fresh database of its own, reached through the
/// generated gRPC client. The background reclaimer is slowed down so that tests run reclaim passes themselves.
/// </summary>
public sealed class VenueServiceHost : IAsyncDisposable
{
    private readonly Factory _factory;
    private readonly GrpcChannel _channel;

    private VenueServiceHost(string connectionString)
    {
        ConnectionString = connectionString;
        _factory = new Factory(connectionString);
        _channel = GrpcChannel.ForAddress(_factory.Server.BaseAddress, new GrpcChannelOptions { HttpHandler = _factory.Server.CreateHandler() });
        Client = new Venues.VenuesClient(_channel);
    }

    public static TimeSpan GracePeriod { get; } = TimeSpan.FromMinutes(2);

    public string ConnectionString { get; }

    public Venues.VenuesClient Client { get; }

    public SeatReclaimStore Reclaims => _factory.Services.GetRequiredService<SeatReclaimStore>();

    public static async Task<VenueServiceHost> StartAsync(PostgresServer postgres) =>
        new(await postgres.CreateDatabaseAsync("venue"));

    public static Timestamp InMinutes(double minutes) => Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(minutes));

    /// <summary>A fresh auto-assign of <paramref name="qty"/> seats in the plan's Floor section, held for 15 minutes.</summary>
    public static AutoAssignAndReserveRequest FloorAutoAssign(SeatPlan plan, int qty) => new()
    {
        PlanId = plan.PlanId,
        ReservationId = Guid.CreateVersion7().ToString(),
        Section = "Floor",
        Qty = qty,
        ExpiresAt = InMinutes(15),
    };

    /// <summary>A plan with one section "Floor" whose rows A, B, ... have the given seat counts.</summary>
    public Task<SeatPlan> CreatePlanAsync(params int[] rowSeats) =>
        Client.CreateSeatPlanAsync(new CreateSeatPlanRequest
        {
            EventId = "event-" + Guid.NewGuid().ToString("N")[..8],
            Name = "Main hall",
            Sections =
            {
                new SectionLayout
                {
                    Name = "Floor",
                    Rows = { rowSeats.Select((seats, i) => new RowLayout { Label = ((char)('A' + i)).ToString(), Seats = seats }) },
                },
            },
        }).ResponseAsync;

    public async Task<Dictionary<string, string>> SeatIdsByLabelAsync(SeatPlan plan) =>
        (await Client.GetSeatMapAsync(new GetSeatMapRequest { PlanId = plan.PlanId })).Seats.ToDictionary(s => s.Label, s => s.SeatId);

    /// <summary>Every row of every table, as text: equal snapshots mean the database did not change.</summary>
    public async Task<string> SnapshotAsync()
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            """
            SELECT concat_ws(E'\n',
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM seat_plans t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM plan_sections t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM seats t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM seat_reservations t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM reservation_seats t),
                (SELECT string_agg(t::text, ',' ORDER BY t::text) FROM seat_reservation_tombstones t))
            """, connection);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Seat ids per reservation as the database records them: a seat can appear under one reservation only.</summary>
    public async Task<List<(Guid SeatId, string Status, Guid? ReservationId)>> SeatsAsync(SeatPlan plan)
    {
        await using var connection = new NpgsqlConnection(ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT seat_id, status, reservation_id FROM seats WHERE plan_id = @plan", connection);
        command.Parameters.AddWithValue("plan", Guid.Parse(plan.PlanId));
        var seats = new List<(Guid, string, Guid?)>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            seats.Add((reader.GetGuid(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetGuid(2)));
        }

        return seats;
    }

    public async ValueTask DisposeAsync()
    {
        _channel.Dispose();
        await _factory.DisposeAsync();
    }

    private sealed class Factory(string connectionString) : WebApplicationFactory<VenueProgram>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("ConnectionStrings:venues", connectionString);
            builder.UseSetting("Venue:AbandonedHoldGrace", GracePeriod.ToString());
            builder.UseSetting("Venue:ReclaimInterval", TimeSpan.FromHours(1).ToString());
        }
    }
}

/// <summary>A status code and message from a failed call.</summary>
public static class RpcAssert
{
    public static async Task<RpcException> FailsWith<T>(StatusCode code, AsyncUnaryCall<T> call)
    {
        var failure = await Assert.ThrowsAsync<RpcException>(() => call.ResponseAsync);
        Assert.Equal(code, failure.StatusCode);
        return failure;
    }
}

/// <summary>One service and database shared by a test class whose tests each make their own seat plan.</summary>
public sealed class VenueServiceFixture(PostgresServer postgres) : IAsyncLifetime
{
    public VenueServiceHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync() => Host = await VenueServiceHost.StartAsync(postgres);

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
