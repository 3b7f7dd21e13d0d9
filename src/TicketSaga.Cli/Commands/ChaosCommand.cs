using System.CommandLine;
using System.Runtime.InteropServices;
using System.Text.Json;
using Spectre.Console;
using TicketSaga.Cli.Chaos;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// `ticketsaga chaos`: the whole system on this machine (loopback only), N purchases while K processes
/// are SIGKILLed and restarted, then the invariants checked from the databases and Stripe's ledger.
/// Exit 0: none broken; 1: some broken (listed); 2: the run could not be made.
/// </summary>
internal static class ChaosCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static Command Create()
    {
        var purchases = new Option<int>("--purchases") { Description = "How many customers buy (one order each).", DefaultValueFactory = _ => 50 };
        var kills = new Option<int>("--kills") { Description = "How many SIGKILLs (an app, the runtime or the Stripe stub, at random moments).", DefaultValueFactory = _ => 5 };
        var seed = new Option<int?>("--seed") { Description = "Seed of the scenarios, kill times and targets (default: random, printed)." };
        var timeout = new Option<string>("--timeout") { Description = "The whole run's bound, e.g. 20m; the check runs on what there is then.", DefaultValueFactory = _ => "20m" };
        var hold = new Option<string>("--hold") { Description = "How long each order holds its seat (up --hold).", DefaultValueFactory = _ => "30s" };
        var faults = new Option<string[]>("--fault") { Description = "Pub/sub faults: `twice` delivers every message once more, `reorder` delays each by 0-500 ms. Repeatable." };
        faults.AcceptOnlyFromAmong("twice", "reorder");
        var noSweeper = new Option<bool>("--no-sweeper") { Description = "Run order-service without its safety-net sweepers: only the sagas end orders." };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL to use (or TICKETSAGA_POSTGRES); default: the local cluster in .ticketsaga/postgres." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON (violations: each order and invariant broken)." };
        foreach (var count in new[] { purchases, kills })
        {
            count.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int>() is < 0 or > 10_000)
                {
                    result.AddError($"{result.Option.Name} must be between 0 and 10000.");
                }
            });
        }

        foreach (var duration in new[] { timeout, hold })
        {
            duration.Validators.Add(result =>
            {
                if (DurationText.Parse(result.GetValueOrDefault<string>()!) is null)
                {
                    result.AddError($"{result.Option.Name} must be a positive duration, e.g. 30s or 20m.");
                }
            });
        }

        var command = new Command("chaos", "Buy while killing processes at random (loopback only), then check that money and tickets agree for every order.")
        {
            purchases, kills, seed, timeout, hold, faults, noSweeper, postgres, json,
        };
        command.SetAction(async (parse, _) =>
        {
            // Ctrl+C and SIGTERM stop the run and, through its disposal, `up` and the stub it started.
            using var stopping = new CancellationTokenSource();
            using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            var cancellationToken = stopping.Token;
            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stopping.Cancel();
            }

            var runFile = UpCommand.FindRepositoryRunFile(Directory.GetCurrentDirectory());
            if (runFile is null)
            {
                RunCommand.Fail("No dapr.yaml in this folder or above it: run `ticketsaga chaos` inside the TicketSaga repository (built: dotnet build).");
                return 2;
            }

            var options = new ChaosOptions(
                parse.GetValue(purchases), parse.GetValue(kills), parse.GetValue(seed) ?? Random.Shared.Next(),
                DurationText.Parse(parse.GetValue(timeout)!)!.Value, DurationText.Parse(parse.GetValue(hold)!)!.Value, parse.GetValue(faults) ?? [],
                parse.GetValue(noSweeper));
            var asJson = parse.GetValue(json);
            void Say(string line)
            {
                if (asJson)
                {
                    Console.Error.WriteLine(line);
                }
                else
                {
                    AnsiConsole.WriteLine(line);
                }
            }

            ChaosResult result;
            try
            {
                await using var database = await RunnerPostgres.ResolveAsync(
                    parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable("TICKETSAGA_POSTGRES"),
                    Path.Combine(Path.GetDirectoryName(runFile)!, ".ticketsaga"), cancellationToken);
                result = await new ChaosRun(options, runFile, database.ConnectionString, Say).RunAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is RunnerException or InvalidOperationException or TimeoutException or IOException)
            {
                RunCommand.Fail($"The chaos run could not be made: {ex.Message}");
                return 2;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                RunCommand.Fail("Stopped.");
                return 130;
            }

            if (asJson)
            {
                Console.WriteLine(JsonSerializer.Serialize(result, Json));
            }
            else
            {
                Print(result);
            }

            return result.Violations.Count == 0 ? 0 : 1;
        });
        return command;
    }

    /// <summary>`ticketsaga soak`: rows of the growing tables and each process's RSS across rounds of `load flash-sale` with a short retention.</summary>
    public static Command CreateSoak()
    {
        var orders = new Option<int>("--orders") { Description = "How many orders in all.", DefaultValueFactory = _ => 5000 };
        var round = new Option<int>("--round") { Description = "Orders per `load flash-sale` round (buyers = seats).", DefaultValueFactory = _ => 1000 };
        var retention = new Option<string>("--retention") { Description = "up --retention for the run.", DefaultValueFactory = _ => "1m" };
        var hold = new Option<string>("--hold") { Description = "up --hold for the run.", DefaultValueFactory = _ => "20s" };
        var postgres = new Option<string?>("--postgres") { Description = "PostgreSQL to use (or TICKETSAGA_POSTGRES); default: the local cluster in .ticketsaga/postgres." };
        var command = new Command("soak", "Run rounds of `load flash-sale` against the whole system with a short retention, reporting table rows and per-process RSS (JSON).")
        {
            orders, round, retention, hold, postgres,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var runFile = UpCommand.FindRepositoryRunFile(Directory.GetCurrentDirectory());
            if (runFile is null || DurationText.Parse(parse.GetValue(retention)!) is not { } period || DurationText.Parse(parse.GetValue(hold)!) is not { } holdFor
                || parse.GetValue(orders) <= 0 || parse.GetValue(round) <= 0)
            {
                RunCommand.Fail("Run inside the repository, with positive --orders, --round, --retention and --hold.");
                return 2;
            }

            try
            {
                await using var database = await RunnerPostgres.ResolveAsync(
                    parse.GetValue(postgres) ?? Environment.GetEnvironmentVariable("TICKETSAGA_POSTGRES"),
                    Path.Combine(Path.GetDirectoryName(runFile)!, ".ticketsaga"), cancellationToken);
                var result = await new SoakRun(new SoakOptions(parse.GetValue(orders), parse.GetValue(round), period, holdFor), runFile, database.ConnectionString, Console.Error.WriteLine)
                    .RunAsync(cancellationToken);
                Console.WriteLine(JsonSerializer.Serialize(result, Json));
                return result.LoadFailures.Count == 0 ? 0 : 1;
            }
            catch (Exception ex) when (ex is RunnerException or InvalidOperationException or TimeoutException or IOException)
            {
                RunCommand.Fail($"The soak could not be made: {ex.Message}");
                return 2;
            }
        });
        return command;
    }

    private static void Print(ChaosResult result)
    {
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]{result.Options.Purchases} purchases, {result.Kills.Count} kills, seed {result.Options.Seed}, {result.DurationSeconds:0} s{(result.Options.NoSweeper ? ", sweepers off" : "")}[/]");
        AnsiConsole.WriteLine($"Orders: {string.Join(", ", result.OrderStatuses.Select(s => $"{s.Value} {s.Key}"))}; {result.PaymentIntents} PaymentIntents; {result.DeadLetters} dead letters");
        if (result.Unsettled is not null)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]Not settled: {result.Unsettled}[/]");
        }

        if (result.Violations.Count == 0)
        {
            AnsiConsole.MarkupLine("[green]No invariant broken.[/]");
            return;
        }

        AnsiConsole.MarkupLineInterpolated($"[red]{result.Violations.Count} invariant(s) broken:[/]");
        foreach (var violation in result.Violations)
        {
            AnsiConsole.WriteLine($"  {violation.OrderId?.ToString() ?? "(stock)"}  {violation.Invariant}: {violation.Detail}");
        }
    }
}
