using System.Globalization;
using Npgsql;

namespace TicketSaga.Cli.Chaos;

internal sealed record SoakOptions(int Orders, int Round, TimeSpan Retention, TimeSpan Hold);

/// <summary>
/// After a round of orders (or after the final wait): the growing tables' rows and each process's RSS
/// then; for a round also the median and the peak of the RSS sampled every second while it ran.
/// </summary>
internal sealed record SoakSample(
    string After, int Orders, IReadOnlyDictionary<string, long> Rows, IReadOnlyDictionary<string, long> RssKilobytes,
    IReadOnlyDictionary<string, long>? RssMedianKilobytes = null, IReadOnlyDictionary<string, long>? RssPeakKilobytes = null);

/// <summary>RSS growth from the first round to the last: at the round's end, and of its median and its peak.</summary>
internal sealed record SoakResult(
    SoakOptions Options, IReadOnlyList<SoakSample> Samples, IReadOnlyList<string> LoadFailures,
    IReadOnlyDictionary<string, double> RssGrowthPercent, IReadOnlyDictionary<string, double> RssMedianGrowthPercent, IReadOnlyDictionary<string, double> RssPeakGrowthPercent);

/// <summary>
/// A soak: `up --retention` with every process of the system, then `ticketsaga load flash-sale` in
/// rounds until the orders are made, sampling the tables that grow with traffic and each process's RSS
/// (/proc) before, after each round and once retention has had two periods to run. A garbage-collected
/// process's RSS saws up and down with its allocations, so one reading per round says little about
/// growth: each round is also sampled every second, and its median and peak compared.
/// </summary>
internal sealed class SoakRun(SoakOptions options, string runFile, string postgres, Action<string> say)
{
    /// <summary>The tables retention must keep bounded, by database (orders and payments themselves are kept).</summary>
    private static readonly (string Database, string Table)[] GrowingTables =
    [
        ("orders", "outbox"), ("orders", "inbox"), ("payments", "outbox"), ("payments", "inbox"), ("payments", "payment_work"),
        ("gateway", "idempotency_keys"), ("dapr_runtime", "pubsub_messages"), ("dapr_runtime", "pubsub_dead_letters"), ("dapr_runtime", "actor_state"),
    ];

    public async Task<SoakResult> RunAsync(CancellationToken cancellationToken)
    {
        var runId = Guid.CreateVersion7().ToString("N")[^8..];
        var stateFolder = Path.Combine(Path.GetDirectoryName(runFile)!, ".ticketsaga", "soak", runId);
        var retention = $"{options.Retention.TotalSeconds.ToString(CultureInfo.InvariantCulture)}s";
        // The soak's short retention holds for the stub's idempotency keys and events too; it keeps every PaymentIntent, as Stripe does.
        await using var system = new ChaosSystem(runFile, postgres, options.Hold, ["--retention", retention], stateFolder, stripeRetention: options.Retention);
        say($"Soak {runId}: {options.Orders} orders in rounds of {options.Round}, retention {retention}; logs in {stateFolder}");
        await system.StartAsync(TimeSpan.FromMinutes(15), cancellationToken);
        var samples = new List<SoakSample> { await SampleAsync(system, "start", 0, cancellationToken) };
        var failures = new List<string>();
        for (var made = 0; made < options.Orders;)
        {
            var round = Math.Min(options.Round, options.Orders - made);
            using var roundOver = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var watching = WatchResidentAsync(system, roundOver.Token);
            var (exitCode, output) = await system.RunCliAsync(
                ["load", "flash-sale", "--buyers", round.ToString(CultureInfo.InvariantCulture), "--seats", round.ToString(CultureInfo.InvariantCulture), "--json"],
                $"load-{made + round}", cancellationToken);
            await roundOver.CancelAsync();
            var readings = await watching;
            if (exitCode != 0)
            {
                failures.Add($"round ending at {made + round}: exit {exitCode}: {WhyLoadFailed(output)}");
            }

            made += round;
            samples.Add(await SampleAsync(system, $"round {samples.Count}", made, cancellationToken) with
            {
                RssMedianKilobytes = Summarize(readings, values => values.Order().ElementAt(values.Count / 2)),
                RssPeakKilobytes = Summarize(readings, values => values.Max()),
            });
            say($"  {made} orders: {Describe(samples[^1])}");
        }

        // Two periods: every row the last round made has outlived its period and been swept.
        await Task.Delay(options.Retention * 2 + options.Hold, cancellationToken);
        samples.Add(await SampleAsync(system, "retention", options.Orders, cancellationToken));
        say($"  after retention: {Describe(samples[^1])}");

        var rounds = samples.Where(s => s.After.StartsWith("round", StringComparison.Ordinal)).ToList();
        return new SoakResult(
            options, samples, failures,
            Growth(rounds, s => s.RssKilobytes), Growth(rounds, s => s.RssMedianKilobytes!), Growth(rounds, s => s.RssPeakKilobytes!));
    }

    /// <summary>Percent growth per process from the first round to the last; none with fewer than two rounds.</summary>
    internal static Dictionary<string, double> Growth(List<SoakSample> rounds, Func<SoakSample, IReadOnlyDictionary<string, long>> rss)
    {
        if (rounds.Count < 2)
        {
            return [];
        }

        var (first, last) = (rss(rounds[0]), rss(rounds[^1]));
        return first.Where(p => p.Value > 0 && last.ContainsKey(p.Key))
            .ToDictionary(p => p.Key, p => Math.Round(100.0 * (last[p.Key] - p.Value) / p.Value, 1));
    }

    /// <summary>Every process's RSS once a second until the round is over.</summary>
    private static async Task<List<IReadOnlyDictionary<string, long>>> WatchResidentAsync(ChaosSystem system, CancellationToken roundOver)
    {
        var readings = new List<IReadOnlyDictionary<string, long>>();
        using var tick = new PeriodicTimer(TimeSpan.FromSeconds(1));
        try
        {
            do
            {
                readings.Add(system.ResidentKilobytes());
            }
            while (await tick.WaitForNextTickAsync(roundOver));
        }
        catch (OperationCanceledException) when (roundOver.IsCancellationRequested)
        {
        }

        return readings;
    }

    /// <summary>One figure per process over a round's readings (a process restarted in between has fewer).</summary>
    internal static SortedDictionary<string, long> Summarize(List<IReadOnlyDictionary<string, long>> readings, Func<IReadOnlyList<long>, long> figure) =>
        new(readings.SelectMany(r => r).Where(p => p.Value > 0).GroupBy(p => p.Key)
            .ToDictionary(g => g.Key, g => figure([.. g.Select(p => p.Value)])));

    /// <summary>The load verdict's violations, else the start of what it printed.</summary>
    private static string WhyLoadFailed(string output)
    {
        try
        {
            using var verdict = System.Text.Json.JsonDocument.Parse(output);
            if (verdict.RootElement.TryGetProperty("violations", out var violations) && violations.ValueKind == System.Text.Json.JsonValueKind.Array)
            {
                return string.Join("; ", violations.EnumerateArray().Select(v => v.GetString()));
            }
        }
        catch (System.Text.Json.JsonException)
        {
        }

        return output[..Math.Min(output.Length, 300)];
    }

    private async Task<SoakSample> SampleAsync(ChaosSystem system, string after, int orders, CancellationToken cancellationToken)
    {
        var rows = new SortedDictionary<string, long>();
        foreach (var (database, table) in GrowingTables)
        {
            var connectionString = new NpgsqlConnectionStringBuilder(postgres) { Database = database, Pooling = false }.ConnectionString;
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            // The table name comes from the list above, never from input.
            await using var count = new NpgsqlCommand($"SELECT count(*) FROM {table}", connection);
            rows[$"{database}.{table}"] = (long)(await count.ExecuteScalarAsync(cancellationToken))!;
        }

        return new SoakSample(after, orders, rows, new SortedDictionary<string, long>(system.ResidentKilobytes().ToDictionary()));
    }

    private static string Describe(SoakSample sample) =>
        $"rows {string.Join(", ", sample.Rows.Select(r => $"{r.Key} {r.Value}"))}; RSS MB {string.Join(", ", sample.RssKilobytes.Select(r => $"{r.Key} {r.Value / 1024}"))}";
}
