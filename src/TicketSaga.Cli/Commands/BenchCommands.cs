using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TicketSaga.Cli.Bench;

namespace TicketSaga.Cli.Commands;

/// <summary><c>ticketsaga bench …</c>: bounded measurements that stop by themselves.</summary>
public static class BenchCommands
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print the figures as one JSON object." };
        var duration = new Option<int>("--duration") { Description = "Measured seconds per phase.", DefaultValueFactory = _ => 10 };
        var warmup = new Option<int>("--warmup") { Description = "Unmeasured seconds before each phase.", DefaultValueFactory = _ => 2 };
        var concurrency = new Option<int>("--concurrency") { Description = "Concurrent callers (and raw connections).", DefaultValueFactory = _ => 64 };
        var postgres = new Option<string?>("--postgres")
        {
            Description = "PostgreSQL connection string; else TICKETSAGA_POSTGRES; else a throwaway local cluster.",
        };

        var inventory = new Command("inventory",
            "ReserveQuota through ticket-service (real Kestrel, HTTP/2 gRPC) on one hot ticket type, against the raw single-row conditional UPDATE on the same PostgreSQL.")
        {
            json, duration, warmup, concurrency, postgres,
        };
        inventory.SetAction(async (parse, cancellationToken) =>
        {
            var options = new InventoryBenchmark.Options(
                TimeSpan.FromSeconds(parse.GetValue(duration)),
                TimeSpan.FromSeconds(parse.GetValue(warmup)),
                parse.GetValue(concurrency),
                parse.GetValue(postgres));
            if (options.Duration <= TimeSpan.Zero || options.Warmup < TimeSpan.Zero || options.Concurrency <= 0)
            {
                Console.Error.WriteLine("--duration and --concurrency must be positive, --warmup not negative.");
                return 2;
            }

            var result = await InventoryBenchmark.RunAsync(options, parse.GetValue(json) ? null : Console.Error, cancellationToken);
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
            }
            else
            {
                Print(result);
            }

            return result.Oversold == 0 && result.ConservationHolds ? 0 : 1;
        });

        return new Command("bench", "Measure TicketSaga components.") { inventory };
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    private static void Print(InventoryBenchmark.Result result)
    {
        var table = new Table().AddColumns("", "per second", "p50 ms", "p99 ms", "calls");
        table.AddRow("ReserveQuota via gRPC", $"{result.GrpcReservesPerS:N0}", $"{result.GrpcP50Ms:N2}", $"{result.GrpcP99Ms:N2}", $"{result.GrpcReserves:N0}");
        table.AddRow("raw single-row UPDATE", $"{result.RawRowUpdatesPerS:N0}", $"{result.RawP50Ms:N2}", $"{result.RawP99Ms:N2}", $"{result.RawRowUpdates:N0}");
        AnsiConsole.Write(table);
        AnsiConsole.MarkupLineInterpolated(
            $"ratio {result.Ratio:N2} · oversold {result.Oversold} · conservation {(result.ConservationHolds ? "holds" : "BROKEN")} · {result.Concurrency} callers · {result.DurationS} s · PostgreSQL: {result.Postgres}");
    }
}
