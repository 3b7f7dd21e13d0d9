using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TicketSaga.Cli.Load;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Cli.Commands;

/// <summary><c>ticketsaga load …</c>: load against a running `ticketsaga up`, bounded, with a verdict from the services' data.</summary>
internal static class LoadCommands
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    public static Command Create()
    {
        var buyers = new Option<int?>("--buyers") { Description = "Closed burst: this many buyers all at once, each its own user with its own JWT." };
        var seats = new Option<int?>("--seats") { Description = "Seats of the fresh event they all want (open loop: default one per arrival)." };
        var rate = new Option<double?>("--rate") { Description = "Open loop: buyers arriving per second, on schedule whatever the answers (--find-max: the first rate tried)." };
        var duration = new Option<string>("--duration") { Description = "Open loop: how long buyers keep arriving (10s, 1m...).", DefaultValueFactory = _ => "10s" };
        var findMax = new Option<bool>("--find-max") { Description = "Open loop: search the highest rate whose p99 stays within --p99-target with nobody queued or refused (each step a fresh event, reserve only)." };
        var p99Target = new Option<double>("--p99-target") { Description = "The p99 (ms, from the scheduled send) --find-max holds a rate to.", DefaultValueFactory = _ => 100 };
        var payShare = new Option<double>("--pay-share")
        {
            Description = "Share of the buyers who got a seat that pay (pm_card_visa); the others let their hold expire.",
            DefaultValueFactory = _ => 0.7,
        };
        var connections = new Option<int>("--connections") { Description = "HTTP connections to the gateway at most, reused like a browser's.", DefaultValueFactory = _ => 64 };
        var queueWait = new Option<string>("--queue-wait") { Description = "How long a buyer waits in the waiting room at most.", DefaultValueFactory = _ => "2m" };
        var gateway = new Option<string?>("--gateway") { Description = "The gateway; default: the one of the running `ticketsaga up` (http://127.0.0.1:5100)." };
        var maxDuration = new Option<string>("--max-duration")
        {
            Description = "The run stops by itself after this (90s, 5m...), reporting what it has.",
            DefaultValueFactory = _ => "5m",
        };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on stdout (progress goes to stderr)." };
        var html = new Option<string?>("--html") { Description = "Open loop: also write a self-contained HTML report (latency and throughput over time, latency distribution) to this file." };

        var flashSale = new Command("flash-sale",
            "Buyers rush for K seats of a fresh event through the gateway — all at once (--buyers) or arriving at --rate for --duration — a share pay, the others' holds expire; then oversell, conservation and stuck orders are checked in the services' data, and CPU per answer is read from /proc.")
        {
            buyers, seats, rate, duration, findMax, p99Target, payShare, connections, queueWait, gateway, maxDuration, json, html,
        };
        flashSale.SetAction(async (parse, cancellationToken) =>
        {
            if (FindUpSession() is not { } session)
            {
                return 2;
            }

            var (runFile, up) = session;
            var openLoop = parse.GetValue(rate) is { } perSecond
                ? new OpenLoopOptions(perSecond, DurationText.Parse(parse.GetValue(duration)!) ?? TimeSpan.Zero)
                : null;
            if (openLoop is null == parse.GetValue(buyers) is null)
            {
                Console.Error.WriteLine("Give either --buyers (a closed burst) or --rate (open loop).");
                return 2;
            }

            var arrivals = openLoop is null ? parse.GetValue(buyers)!.Value : (int)Math.Floor(openLoop.Rate * openLoop.Duration.TotalSeconds);
            var options = new FlashSaleOptions(
                arrivals,
                parse.GetValue(seats) ?? arrivals,
                parse.GetValue(findMax) ? 0 : parse.GetValue(payShare),
                Uri.TryCreate(parse.GetValue(gateway) ?? up.Gateway, UriKind.Absolute, out var uri) ? uri : new Uri("invalid:"),
                DurationText.Parse(parse.GetValue(maxDuration)!) ?? TimeSpan.Zero,
                openLoop,
                parse.GetValue(connections),
                QueueWait: DurationText.Parse(parse.GetValue(queueWait)!) ?? TimeSpan.Zero);
            if (options.Validate() is { Count: > 0 } errors)
            {
                errors.ToList().ForEach(Console.Error.WriteLine);
                return 2;
            }

            if (parse.GetValue(findMax) && openLoop is null)
            {
                Console.Error.WriteLine("--find-max searches rates: give the first one with --rate.");
                return 2;
            }

            var progress = parse.GetValue(json) ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
            if (up.HoldDuration + up.SettleWindow > options.MaxDuration && !parse.GetValue(findMax))
            {
                progress.MarkupLineInterpolated(
                    $"[yellow]Holds last {up.HoldDuration} here, longer than --max-duration {options.MaxDuration}: unpaid orders will still be pending at the end. Restart with `ticketsaga up --hold 20s` to see them expire.[/]");
            }

            if (Targets(runFile, up) is not { } targets)
            {
                return 2;
            }

            using var _ = targets.Channels;
            var upProcess = ProcessCpu.FindUp(Path.GetDirectoryName(Path.GetFullPath(runFile))!);
            if (upProcess is null)
            {
                progress.MarkupLine("[yellow]The `ticketsaga up` process was not found in /proc: CPU per answer is not measured.[/]");
            }

            var sale = new FlashSale(options, targets.Targets with { UpProcess = upProcess }, progress);
            try
            {
                if (parse.GetValue(findMax))
                {
                    var search = await FindMaxAsync(sale, openLoop!, parse.GetValue(p99Target), upProcess, progress, cancellationToken);
                    Report(parse.GetValue(json), parse.GetValue(html), search, PrintFindMax, s => s.Best ?? s.Steps[^1].Run,
                        s => $"Flash sale: highest rate at p99 ≤ {s.P99TargetMs} ms", FindMaxFacts);
                    return 0;
                }

                var result = await sale.RunAsync(cancellationToken);
                Report(parse.GetValue(json), parse.GetValue(html), result, Print, r => r.OpenLoop, r => $"Flash sale: {r.OpenLoop?.Rate:0.#} buyers/s", SaleFacts);
                return result.Healthy ? 0 : 1;
            }
            catch (Exception ex) when (ex is HttpRequestException or Grpc.Core.RpcException)
            {
                Console.Error.WriteLine($"The running system did not answer ({ex.Message}). Is `ticketsaga up` still running?");
                return 1;
            }
        });

        return new Command("load", "Put a running `ticketsaga up` under load and check the invariants afterwards.") { flashSale, CreateExpiryStorm(json, gateway, maxDuration, connections) };
    }

    private static Command CreateExpiryStorm(Option<bool> json, Option<string?> gateway, Option<string> maxDuration, Option<int> connections)
    {
        var holds = new Option<int>("--holds") { Description = "Unpaid holds that all expire together.", Required = true };
        var createRate = new Option<double>("--create-rate") { Description = "Holds asked for per second (the closer together, the more simultaneous their expiry).", DefaultValueFactory = _ => 300 };
        var postgres = new Option<string?>("--postgres") { Description = "The PostgreSQL `up` uses; default: TICKETSAGA_POSTGRES, else the local cluster `up` keeps in .ticketsaga." };
        var storm = new Command("expiry-storm",
            "N unpaid holds made close together expire together: measures the reminder lag (expires_at → expiration_complete published) and how long until every order is EXPIRED and the stock is back.")
        {
            holds, createRate, gateway, maxDuration, connections, postgres, json,
        };
        storm.SetAction(async (parse, cancellationToken) =>
        {
            if (FindUpSession() is not { } session)
            {
                return 2;
            }

            var (runFile, up) = session;
            var options = new ExpiryStormOptions(
                parse.GetValue(holds),
                parse.GetValue(createRate),
                Uri.TryCreate(parse.GetValue(gateway) ?? up.Gateway, UriKind.Absolute, out var uri) ? uri : new Uri("invalid:"),
                DurationText.Parse(parse.GetValue(maxDuration)!) ?? TimeSpan.Zero,
                parse.GetValue(connections));
            if (options.Holds is < 1 or > FlashSaleOptions.MaxBuyers || options.CreateRate <= 0 || options.MaxDuration <= TimeSpan.Zero)
            {
                Console.Error.WriteLine($"--holds must be between 1 and {FlashSaleOptions.MaxBuyers}, --create-rate and --max-duration positive.");
                return 2;
            }

            if (up.HoldDuration < TimeSpan.FromSeconds(options.Holds / options.CreateRate))
            {
                Console.Error.WriteLine($"Holds last {up.HoldDuration} but making {options.Holds} takes {options.Holds / options.CreateRate:N0} s: the first would expire before the last is made. Restart `up` with a longer --hold.");
                return 2;
            }

            if (Targets(runFile, up) is not { } targets)
            {
                return 2;
            }

            using var _ = targets.Channels;
            var progress = parse.GetValue(json) ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
            var upProcess = ProcessCpu.FindUp(Path.GetDirectoryName(Path.GetFullPath(runFile))!);
            await using var server = await RunnerPostgres.ResolveAsync(
                parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable("TICKETSAGA_POSTGRES"), Path.Combine(Path.GetDirectoryName(runFile)!, ".ticketsaga"), cancellationToken);
            ExpiryStormResult result;
            try
            {
                result = await new ExpiryStorm(options, targets.Targets with { UpProcess = upProcess }, server.ConnectionString, progress).RunAsync(cancellationToken);
            }
            catch (NotUpsDatabaseException ex)
            {
                Console.Error.WriteLine(ex.Message);
                return 2;
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
            }
            else
            {
                var table = new Table().AddColumns("", "").HideHeaders();
                table.AddRow("holds", $"{result.Created}/{result.Holds} made in {result.CreateS:N1} s; expires_at spread {result.ExpiresAtSpreadS:N1} s");
                table.AddRow("reminder lag", $"p50 {result.ReminderLag.P50Ms:N0} ms · p99 {result.ReminderLag.P99Ms:N0} ms · max {result.ReminderLag.MaxMs:N0} ms ({result.RemindersSeen} seen)");
                table.AddRow("end after the settle window", $"p50 {result.EndLag.P50Ms:N0} ms · p99 {result.EndLag.P99Ms:N0} ms · max {result.EndLag.MaxMs:N0} ms");
                table.AddRow("all compensated", $"{result.CompensatedAfterS:N1} s after the last expires_at + {result.SettleWindowS:0} s settle window; expired {result.Expired}, other {result.OtherEnded}, live {result.StillLive}, stock back {result.StockBack}");
                table.AddRow("CPU during the storm", $"{result.StormCpuMs:N0} ms TicketSaga · {result.StormPostgresCpuMs:N0} ms PostgreSQL · load average {result.LoadAverage}");
                AnsiConsole.Write(table);
            }

            return result.Healthy ? 0 : 1;
        });
        return storm;
    }

    /// <summary>The running `ticketsaga up` of this repository, or null after saying why there is none.</summary>
    internal static (string RunFile, UpSession Up)? FindUpSession()
    {
        var runFile = UpCommand.FindRepositoryRunFile(Directory.GetCurrentDirectory());
        var up = runFile is null ? null : UpSession.Read(runFile);
        if (runFile is null || up is null)
        {
            Console.Error.WriteLine("No running `ticketsaga up` found (.ticketsaga/up.json beside dapr.yaml): start one first, e.g. `ticketsaga up --hold 20s`, and run `load` in the same repository.");
            return null;
        }

        return (runFile, up);
    }

    /// <summary>ticket-service and venue-service through their sidecars, and the signing key `up` made; null after saying what is missing.</summary>
    internal static (FlashSaleTargets Targets, IDisposable Channels)? Targets(string runFile, UpSession up)
    {
        var keyFile = DevSigningKey.PathBeside(runFile);
        if (!File.Exists(keyFile))
        {
            Console.Error.WriteLine($"No development signing key at {keyFile}: the buyers' tokens are signed with the key `ticketsaga up` made.");
            return null;
        }

        var tickets = AppChannel.ThroughSidecar(up.SidecarGrpcPorts[AppIds.TicketService], AppIds.TicketService, up.SidecarApiTokens.GetValueOrDefault(AppIds.TicketService));
        var venues = AppChannel.ThroughSidecar(up.SidecarGrpcPorts[AppIds.VenueService], AppIds.VenueService, up.SidecarApiTokens.GetValueOrDefault(AppIds.VenueService));
        return (new FlashSaleTargets(tickets.Invoker, venues.Invoker, File.ReadAllText(keyFile).Trim(), up.SettleWindow), new Channels(tickets, venues));
    }

    private sealed class Channels(params IDisposable[] channels) : IDisposable
    {
        public void Dispose()
        {
            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    /// <summary>
    /// Doubles the rate while it is sustained, then halves the gap between the highest sustained and
    /// the lowest failed rate until they are within 10 %; a few seconds between steps let the system drain.
    /// </summary>
    private static async Task<FindMaxResult> FindMaxAsync(
        FlashSale sale, OpenLoopOptions first, double p99TargetMs, int? upProcess, IAnsiConsole progress, CancellationToken cancellationToken)
    {
        const int maxSteps = 9;
        var steps = new List<FindMaxStep>();
        double sustained = 0, failed = double.PositiveInfinity, rate = first.Rate;
        OpenLoopSummary? best = null;
        for (var step = 0; step < maxSteps && !cancellationToken.IsCancellationRequested; step++)
        {
            var before = ProcessCpu.SampleSystem(upProcess);
            var run = await sale.RunStepAsync(first with { Rate = rate }, cancellationToken);
            var cpu = ProcessCpu.SampleSystem(upProcess).Since(before);
            var ok = run.Sustains(p99TargetMs);
            steps.Add(new FindMaxStep(rate, ok, run.Latency.P50Ms, run.Latency.P99Ms, run.ReservedPerS, run.Queued, run.Arrivals - run.Reserved - run.SoldOut,
                run.Answered > 0 ? Math.Round(cpu.TicketSagaMs / run.Answered, 3) : 0, run.Answered > 0 ? Math.Round(cpu.TotalMs / run.Answered, 3) : 0, run));
            progress.MarkupLineInterpolated(
                $"{rate,8:0.#}/s  p50 {run.Latency.P50Ms,8:N1} ms  p99 {run.Latency.P99Ms,8:N1} ms  reserved {run.Reserved}/{run.Arrivals}  queued {run.Queued}  {(ok ? "[green]sustained[/]" : "[red]not sustained[/]")}");
            if (ok)
            {
                (sustained, best) = (rate, run);
            }
            else
            {
                failed = rate;
            }

            if (double.IsPositiveInfinity(failed))
            {
                rate *= 2;
            }
            else if (failed - sustained <= failed * 0.1 || sustained == 0 && rate < 1)
            {
                break;
            }
            else
            {
                rate = sustained > 0 ? (sustained + failed) / 2 : rate / 2;
            }

            await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        }

        return new FindMaxResult(p99TargetMs, sustained, first.Duration.TotalSeconds, steps, best);
    }

    private static void Report<T>(
        bool json, string? htmlFile, T result, Action<T> print, Func<T, OpenLoopSummary?> run, Func<T, string> title, Func<T, IReadOnlyList<(string, string)>> facts)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
        }
        else
        {
            print(result);
        }

        if (htmlFile is null)
        {
            return;
        }

        if (run(result) is not { } figures)
        {
            Console.Error.WriteLine("--html draws an open-loop run (--rate): nothing written.");
            return;
        }

        File.WriteAllText(htmlFile, LoadHtmlReport.Render(title(result), facts(result), figures));
        Console.Error.WriteLine($"HTML report: {Path.GetFullPath(htmlFile)}");
    }

    private static List<(string, string)> SaleFacts(FlashSaleResult result)
    {
        var facts = new List<(string, string)>
        {
            ("offered", $"{result.OpenLoop?.Rate:0.#} buyers/s for {result.OpenLoop?.DurationS:0.#} s ({result.Buyers} buyers, {result.Seats} seats)"),
            ("answers", $"reserved {result.Reserved} · sold out {result.SoldOutAnswers} · queued {result.Queued} · errors {result.ReserveErrors.Values.Sum()}"),
        };
        if (result.OpenLoop is { } run)
        {
            facts.Add(("latency (from the scheduled send)", $"p50 {run.Latency.P50Ms:N1} ms · p90 {run.Latency.P90Ms:N1} · p99 {run.Latency.P99Ms:N1} · max {run.Latency.MaxMs:N1}"));
            facts.Add(("throughput", $"{run.AnswersPerS:N1} answers/s · {run.ReservedPerS:N1} reserved/s"));
        }

        if (result.TimeToAdmission is { Count: > 0 } admission)
        {
            facts.Add(("time to admission", $"p50 {admission.P50Ms:N0} ms · p99 {admission.P99Ms:N0} ms"));
        }

        if (result.Cpu is { Measured: true } cpu)
        {
            facts.Add(("CPU per reserved order", $"{cpu.PerReservedMs:N2} ms TicketSaga · {cpu.PerReservedWithPostgresMs:N2} ms with PostgreSQL"));
            facts.Add(("CPU per sold-out answer", $"{cpu.PerSoldOutMs:N2} ms TicketSaga · {cpu.PerSoldOutWithPostgresMs:N2} ms with PostgreSQL ({cpu.ProbeSoldOutAnswers} probed)"));
        }

        facts.Add(("verdict", $"oversold {result.Oversold} · conservation {(result.ConservationOk ? "ok" : "BROKEN")} · stuck {result.StuckOrders} · late {result.LateOrders}"));
        facts.Add(("measured at", $"{DateTimeOffset.UtcNow:u} · load average {LoadAverage()}"));
        return facts;
    }

    private static List<(string, string)> FindMaxFacts(FindMaxResult search)
    {
        var facts = new List<(string, string)> { ("highest sustained rate", $"{search.MaxSustainedRate:0.#} buyers/s (p99 ≤ {search.P99TargetMs} ms, nobody queued or refused; {search.StepDurationS:0} s per step)") };
        facts.AddRange(search.Steps.Select(s => ($"{s.Rate:0.#}/s", $"p50 {s.P50Ms:N1} ms · p99 {s.P99Ms:N1} ms · {s.ReservedPerS:N1} reserved/s · queued {s.Queued} · other {s.Unanswered} · CPU {s.CpuMsPerAnswer:N2} ms/answer · {(s.Sustained ? "sustained" : "not sustained")}")));
        facts.Add(("plots below", search.Best is null ? "the last step" : $"the highest sustained step, {search.MaxSustainedRate:0.#}/s"));
        facts.Add(("measured at", $"{DateTimeOffset.UtcNow:u} · load average {LoadAverage()}"));
        return facts;
    }

    /// <summary>The machine's 1-minute load average when the figures were taken: it is shared, so say how busy it was.</summary>
    internal static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "unknown";

    private static void PrintFindMax(FindMaxResult search)
    {
        var table = new Table().AddColumns("rate /s", "p50 ms", "p99 ms", "reserved /s", "queued", "other", "CPU ms/answer", "");
        foreach (var step in search.Steps)
        {
            table.AddRow($"{step.Rate:0.#}", $"{step.P50Ms:N1}", $"{step.P99Ms:N1}", $"{step.ReservedPerS:N1}", $"{step.Queued}", $"{step.Unanswered}", $"{step.CpuMsPerAnswer:N2}",
                step.Sustained ? "[green]sustained[/]" : "[red]not sustained[/]");
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated($"highest rate with p99 ≤ {search.P99TargetMs} ms: [bold]{search.MaxSustainedRate:0.#} buyers/s[/]");
    }

    /// <summary>One step of --find-max; <paramref name="Unanswered"/>: neither a seat nor sold out (refused, failed, still queued, not sent).</summary>
    internal sealed record FindMaxStep(
        double Rate, bool Sustained, double P50Ms, double P99Ms, double ReservedPerS, int Queued, int Unanswered,
        double CpuMsPerAnswer, double CpuMsPerAnswerWithPostgres, [property: System.Text.Json.Serialization.JsonIgnore] OpenLoopSummary Run);

    internal sealed record FindMaxResult(double P99TargetMs, double MaxSustainedRate, double StepDurationS, IReadOnlyList<FindMaxStep> Steps, OpenLoopSummary? Best);

    private static void Print(FlashSaleResult result)
    {
        var table = new Table().AddColumns("", "").HideHeaders();
        table.AddRow("buyers / seats", $"{result.Buyers} / {result.Seats}");
        table.AddRow("POST /orders", $"{result.OrdersPerS:N1}/s · p50 {result.ReserveP50Ms:N1} ms · p99 {result.ReserveP99Ms:N1} ms{(result.OpenLoop is null ? "" : " (from the scheduled send)")}");
        table.AddRow("answers", $"reserved {result.Reserved} · sold out {result.SoldOutAnswers} · queued {result.Queued} · errors {result.ReserveErrors.Values.Sum()}");
        if (result.TimeToAdmission is { Count: > 0 } admission)
        {
            table.AddRow("time to admission", $"p50 {admission.P50Ms:N0} ms · p99 {admission.P99Ms:N0} ms");
        }

        if (result.Cpu is { Measured: true } cpu)
        {
            table.AddRow("CPU per reserved order", $"{cpu.PerReservedMs:N2} ms ({cpu.PerReservedWithPostgresMs:N2} ms with PostgreSQL)");
            table.AddRow("CPU per sold-out answer", $"{cpu.PerSoldOutMs:N2} ms ({cpu.PerSoldOutWithPostgresMs:N2} ms with PostgreSQL; {cpu.ProbeSoldOutAnswers} probed)");
        }

        table.AddRow("orders (order-service)", $"paid {result.Paid} · expired {result.Expired} · cancelled {result.Cancelled} · pending {result.Pending}");
        table.AddRow("sold (ticket-service)", $"{result.Sold}");
        table.AddRow("oversold", result.Oversold == 0 ? "[green]0[/]" : $"[red]{result.Oversold}[/]");
        table.AddRow("conservation", result.ConservationOk ? "[green]ok[/]" : "[red]BROKEN[/]");
        table.AddRow("stuck orders", result.StuckOrders == 0 ? "[green]0[/]" : $"[red]{result.StuckOrders}[/]");
        table.AddRow("late orders", $"{result.LateOrders} ended over {FlashSale.LateAfter.TotalSeconds:N0} s past expires_at + settle window; all ended {result.SettledS:N1} s after the rush began");
        if (result.EndLag is { Count: > 0 } endLag)
        {
            table.AddRow("expiry compensation", $"ended p50 {endLag.P50Ms:N0} ms · p99 {endLag.P99Ms:N0} ms · max {endLag.MaxMs:N0} ms past expires_at + settle window");
        }
        AnsiConsole.Write(table);
        foreach (var violation in result.Violations)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{violation}[/]");
        }
    }
}
