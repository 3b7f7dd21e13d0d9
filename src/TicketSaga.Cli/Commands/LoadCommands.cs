using System.CommandLine;
using System.Text.Json;
using Spectre.Console;
using TicketSaga.Cli.Load;
using TicketSaga.Contracts;

namespace TicketSaga.Cli.Commands;

/// <summary><c>ticketsaga load …</c>: load against a running `ticketsaga up`, bounded, with a verdict from the services' data.</summary>
internal static class LoadCommands
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        WriteIndented = true,
    };

    public static Command Create()
    {
        var buyers = new Option<int>("--buyers") { Description = "Concurrent buyers, each its own user with its own JWT.", Required = true };
        var seats = new Option<int>("--seats") { Description = "Seats of the fresh event they all want.", Required = true };
        var payShare = new Option<double>("--pay-share")
        {
            Description = "Share of the buyers who got a seat that pay (pm_card_visa); the others let their hold expire.",
            DefaultValueFactory = _ => 0.7,
        };
        var gateway = new Option<string?>("--gateway") { Description = "The gateway; default: the one of the running `ticketsaga up` (http://127.0.0.1:5100)." };
        var maxDuration = new Option<string>("--max-duration")
        {
            Description = "The run stops by itself after this (90s, 5m...), reporting what it has.",
            DefaultValueFactory = _ => "5m",
        };
        var json = new Option<bool>("--json") { Description = "Print the result as one JSON object on stdout (progress goes to stderr)." };

        var flashSale = new Command("flash-sale",
            "N buyers rush for K seats of a fresh event through the gateway; a share pay, the others' holds expire; then oversell, conservation and stuck orders are checked in the services' data.")
        {
            buyers, seats, payShare, gateway, maxDuration, json,
        };
        flashSale.SetAction(async (parse, cancellationToken) =>
        {
            var runFile = UpCommand.FindRepositoryRunFile(Directory.GetCurrentDirectory());
            var up = runFile is null ? null : UpSession.Read(runFile);
            if (runFile is null || up is null)
            {
                Console.Error.WriteLine("No running `ticketsaga up` found (.ticketsaga/up.json beside dapr.yaml): start one first, e.g. `ticketsaga up --hold 20s`, and run `load` in the same repository.");
                return 2;
            }

            var options = new FlashSaleOptions(
                parse.GetValue(buyers),
                parse.GetValue(seats),
                parse.GetValue(payShare),
                Uri.TryCreate(parse.GetValue(gateway) ?? up.Gateway, UriKind.Absolute, out var uri) ? uri : new Uri("invalid:"),
                DurationText.Parse(parse.GetValue(maxDuration)!) ?? TimeSpan.Zero);
            if (options.Validate() is { Count: > 0 } errors)
            {
                errors.ToList().ForEach(Console.Error.WriteLine);
                return 2;
            }

            var progress = parse.GetValue(json) ? AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) }) : AnsiConsole.Console;
            if (up.HoldDuration + up.SettleWindow > options.MaxDuration)
            {
                progress.MarkupLineInterpolated(
                    $"[yellow]Holds last {up.HoldDuration} here, longer than --max-duration {options.MaxDuration}: unpaid orders will still be pending at the end. Restart with `ticketsaga up --hold 20s` to see them expire.[/]");
            }

            var keyFile = DevSigningKey.PathBeside(runFile);
            if (!File.Exists(keyFile))
            {
                Console.Error.WriteLine($"No development signing key at {keyFile}: the buyers' tokens are signed with the key `ticketsaga up` made.");
                return 2;
            }

            using var tickets = AppChannel.ThroughSidecar(up.SidecarGrpcPorts[AppIds.TicketService], AppIds.TicketService, up.SidecarApiTokens.GetValueOrDefault(AppIds.TicketService));
            using var venues = AppChannel.ThroughSidecar(up.SidecarGrpcPorts[AppIds.VenueService], AppIds.VenueService, up.SidecarApiTokens.GetValueOrDefault(AppIds.VenueService));
            var targets = new FlashSaleTargets(tickets.Invoker, venues.Invoker, File.ReadAllText(keyFile).Trim(), up.SettleWindow);
            FlashSaleResult result;
            try
            {
                result = await new FlashSale(options, targets, progress).RunAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is HttpRequestException or Grpc.Core.RpcException)
            {
                Console.Error.WriteLine($"The running system did not answer ({ex.Message}). Is `ticketsaga up` still running?");
                return 1;
            }

            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(result, JsonOptions));
            }
            else
            {
                Print(result);
            }

            return result.Healthy ? 0 : 1;
        });

        return new Command("load", "Put a running `ticketsaga up` under load and check the invariants afterwards.") { flashSale };
    }

    private static void Print(FlashSaleResult result)
    {
        var table = new Table().AddColumns("", "").HideHeaders();
        table.AddRow("buyers / seats", $"{result.Buyers} / {result.Seats}");
        table.AddRow("POST /orders", $"{result.OrdersPerS:N1}/s · p50 {result.ReserveP50Ms:N1} ms · p99 {result.ReserveP99Ms:N1} ms");
        table.AddRow("answers", $"reserved {result.Reserved} · sold out {result.SoldOutAnswers} · errors {result.ReserveErrors.Values.Sum()}");
        table.AddRow("orders (order-service)", $"paid {result.Paid} · expired {result.Expired} · cancelled {result.Cancelled} · pending {result.Pending}");
        table.AddRow("sold (ticket-service)", $"{result.Sold}");
        table.AddRow("oversold", result.Oversold == 0 ? "[green]0[/]" : $"[red]{result.Oversold}[/]");
        table.AddRow("conservation", result.ConservationOk ? "[green]ok[/]" : "[red]BROKEN[/]");
        table.AddRow("stuck orders", result.StuckOrders == 0 ? "[green]0[/]" : $"[red]{result.StuckOrders}[/]");
        table.AddRow("late orders", $"{result.LateOrders} ended after expires_at + grace; all ended {result.SettledS:N1} s after the rush began");
        AnsiConsole.Write(table);
        foreach (var violation in result.Violations)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{violation}[/]");
        }
    }
}
