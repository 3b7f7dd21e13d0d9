using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Npgsql;
using TicketSaga.Testing;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class ReadinessTests(PostgresServer postgres)
{
    [Fact]
    public async Task A_flood_of_readiness_probes_costs_the_database_one_query_and_a_probe_a_second_later_asks_again()
    {
        var database = postgres.NewDatabaseName("readiness");
        using var queries = new QueryCounter(database);
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration["ConnectionStrings:readiness"] = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = database }.ConnectionString;
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.AddServiceDefaults();
        builder.AddPostgres("readiness");
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync(TestContext.Current.CancellationToken);
        using var http = StartedApps.ClientOf(app);
        var before = queries.Count;

        var flood = await Task.WhenAll(Enumerable.Range(0, 200).Select(_ => http.GetAsync("/readyz", TestContext.Current.CancellationToken)));
        var duringFlood = queries.Count - before;
        clock.Advance(TimeSpan.FromSeconds(1));
        using var later = await http.GetAsync("/readyz", TestContext.Current.CancellationToken);

        Assert.All(flood, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        Assert.Equal(HttpStatusCode.OK, later.StatusCode);
        Assert.Equal(1, duringFlood);
        Assert.Equal(2, queries.Count - before);
    }

    /// <summary>Npgsql's commands on one database, seen through its ActivitySource (as a tracer would).</summary>
    private sealed class QueryCounter : IDisposable
    {
        private readonly ActivityListener _listener;
        private int _count;

        public QueryCounter(string database)
        {
            _listener = new ActivityListener
            {
                ShouldListenTo = source => source.Name == "Npgsql",
                Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
                ActivityStopped = activity =>
                {
                    if (activity.TagObjects.Any(tag => Equals(tag.Value, database)) && activity.TagObjects.Any(tag => Equals(tag.Value, "SELECT 1")))
                    {
                        Interlocked.Increment(ref _count);
                    }
                },
            };
            ActivitySource.AddActivityListener(_listener);
        }

        public int Count => Volatile.Read(ref _count);

        public void Dispose() => _listener.Dispose();
    }
}
