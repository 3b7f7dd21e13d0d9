using System.Diagnostics;
using TicketSaga.Cli.Commands;
using TicketSaga.Contracts;

namespace TicketSaga.Cli.Chaos;

internal sealed record ChaosOptions(int Purchases, int Kills, int Seed, TimeSpan Timeout, TimeSpan Hold, IReadOnlyList<string> PubSubFaults, bool NoSweeper = false);

/// <summary>One kill: when (seconds after the purchases began), what, and how long until it was back.</summary>
internal sealed record ChaosKill(double AtSeconds, string Target, double DownSeconds);

internal sealed record ChaosResult(
    ChaosOptions Options,
    IReadOnlyList<ChaosKill> Kills,
    IReadOnlyDictionary<string, int> Outcomes,
    IReadOnlyDictionary<string, int> OrderStatuses,
    int PaymentIntents,
    int DeadLetters,
    string? Unsettled,
    double DurationSeconds,
    IReadOnlyList<Violation> Violations);

/// <summary>
/// A chaos run: the system started as separate processes, N customers buying while K processes are
/// SIGKILLed at random moments (seeded), then the wait until nothing moves any more, then the check.
/// </summary>
internal sealed class ChaosRun(ChaosOptions options, string runFile, string postgres, Action<string> say)
{
    private static readonly string[] NoSweeper = ["--no-sweeper"];

    private static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(15);

    private readonly Random _random = new(options.Seed);
    private readonly List<ChaosKill> _kills = [];

    public async Task<ChaosResult> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(options.Timeout);
        var runId = Guid.CreateVersion7().ToString("N")[^8..];
        var stateFolder = Path.Combine(Path.GetDirectoryName(runFile)!, ".ticketsaga", "chaos", runId);
        await using var system = new ChaosSystem(
            runFile, postgres, options.Hold, [.. options.PubSubFaults.SelectMany(f => new[] { "--pubsub-fault", f }), .. options.NoSweeper ? NoSweeper : []], stateFolder);
        say($"Chaos run {runId} (seed {options.Seed}): logs and the Stripe journal in {Path.GetRelativePath(Directory.GetCurrentDirectory(), stateFolder)}");
        var session = await system.StartAsync(StartTimeout, bounded.Token);
        var since = DateTimeOffset.UtcNow;

        ChaosEvent chaosEvent;
        using (var tickets = AppChannel.ThroughSidecar(session.SidecarGrpcPorts[AppIds.TicketService], AppIds.TicketService, session.SidecarApiTokens.GetValueOrDefault(AppIds.TicketService)))
        using (var venues = AppChannel.ThroughSidecar(session.SidecarGrpcPorts[AppIds.VenueService], AppIds.VenueService, session.SidecarApiTokens.GetValueOrDefault(AppIds.VenueService)))
        {
            chaosEvent = await ChaosPurchases.CreateEventAsync(tickets.Invoker, venues.Invoker, options.Purchases, runId, bounded.Token);
        }

        using var purchases = new ChaosPurchases(new Uri(session.Gateway), File.ReadAllText(DevSigningKey.PathBeside(runFile)).Trim(), system.StripeApiBase, system.StripeApiKey);
        // Customers arrive over a window long enough for the kills to land among them.
        var window = TimeSpan.FromSeconds(Math.Max(30, Math.Max(options.Purchases * 0.3, options.Kills * 6)));
        var scenarios = Enum.GetValues<Scenario>();
        var buyers = Enumerable.Range(0, options.Purchases)
            .Select(i => (Customer: $"chaos-{runId}-{i:D5}", Scenario: scenarios[_random.Next(scenarios.Length)], StartAt: window * i / options.Purchases))
            .ToList();
        var killTimes = Enumerable.Range(0, options.Kills).Select(_ => window * (0.05 + 0.95 * _random.NextDouble())).Order().ToList();
        say($"{options.Purchases} purchases over {window.TotalSeconds:0} s ({string.Join(", ", buyers.GroupBy(b => b.Scenario).Select(g => $"{g.Count()} {g.Key}"))}), {options.Kills} kills");

        var started = Stopwatch.StartNew();
        var buying = Task.WhenAll(buyers.Select(async buyer =>
        {
            await Task.Delay(buyer.StartAt, bounded.Token);
            await purchases.BuyAsync(buyer.Customer, buyer.Scenario, chaosEvent, options.Hold, bounded.Token);
        }));
        var killing = KillAsync(system, killTimes, started, bounded.Token);
        try
        {
            await Task.WhenAll(buying, killing);
        }
        catch (OperationCanceledException) when (bounded.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            say("--timeout reached while buying: checking what there is.");
        }

        say($"Purchases done after {started.Elapsed.TotalSeconds:0} s: {string.Join("; ", purchases.Outcomes.Select(o => $"{o.Key} {o.Value}"))}");

        var reader = new ChaosStateReader(postgres, system.StripeJournal, "dapr_runtime");
        var unsettled = await SettleAsync(reader, chaosEvent, session.HoldDuration, session.SettleWindow, bounded.Token);
        using var reading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        reading.CancelAfter(TimeSpan.FromMinutes(1));
        var state = await reader.ReadAsync(chaosEvent, since, session.SettleWindow, reading.Token);
        return new ChaosResult(
            options, _kills, purchases.Outcomes,
            new SortedDictionary<string, int>(state.Orders.GroupBy(o => o.Status).ToDictionary(g => g.Key, g => g.Count())),
            state.Charges.Count, state.DeadLetters.Count, unsettled, clock.Elapsed.TotalSeconds, InvariantChecker.Check(state));
    }

    private async Task KillAsync(ChaosSystem system, List<TimeSpan> killTimes, Stopwatch started, CancellationToken cancellationToken)
    {
        var apps = ChaosSystem.AppFolders.Keys.ToList();
        foreach (var at in killTimes)
        {
            if (at > started.Elapsed)
            {
                await Task.Delay(at - started.Elapsed, cancellationToken);
            }

            var roll = _random.NextDouble();
            var down = Stopwatch.StartNew();
            var killedAt = started.Elapsed.TotalSeconds;
            string target;
            if (roll < 0.5)
            {
                target = apps[_random.Next(apps.Count)];
                if (!system.KillApp(target))
                {
                    target += " (not running: restarting)";
                }
            }
            else if (roll < 0.75)
            {
                target = "stripe-stub";
                system.KillStub();
                await Task.Delay(TimeSpan.FromSeconds(_random.NextDouble() * 3), cancellationToken);
                system.StartStub();
            }
            else
            {
                target = "runtime";
                await system.KillAndRestartRuntimeAsync(StartTimeout, cancellationToken);
            }

            _kills.Add(new ChaosKill(Math.Round(killedAt, 1), target, Math.Round(down.Elapsed.TotalSeconds, 1)));
            say($"  {killedAt,6:0.0} s  SIGKILL {target}");
        }
    }

    /// <summary>Waits until every order can have ended and nothing is in flight (or --timeout); null when settled.</summary>
    private async Task<string?> SettleAsync(ChaosStateReader reader, ChaosEvent chaosEvent, TimeSpan hold, TimeSpan settleWindow, CancellationToken cancellationToken)
    {
        var unsettled = await reader.WaitUntilSettledAsync(chaosEvent, hold, settleWindow, cancellationToken);
        say(unsettled is null ? "Settled: no order PENDING, no outbox row, payment work or delivery outstanding." : $"Not settled within --timeout: {unsettled}");
        return unsettled;
    }
}
