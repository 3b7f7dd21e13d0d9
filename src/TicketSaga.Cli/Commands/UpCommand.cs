using System.CommandLine;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Spectre.Console;
using TicketSaga.Cli.Chaos;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Invocation;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// `ticketsaga up`: the repository's dapr.yaml (found from the current folder upwards) on the embedded
/// runtime, built first, with the demo event seeded once, then what a newcomer needs to know.
/// </summary>
internal static class UpCommand
{
    /// <summary>venue-service refuses longer holds (Venue:MaxHoldDuration).</summary>
    private static readonly TimeSpan MaxHold = TimeSpan.FromHours(24);

    public static Command Create()
    {
        var options = new RunOptions();
        var hold = new Option<string?>("--hold")
        {
            Description = "How long an order holds its seats before it expires, e.g. 20s or 2m (order-service's Orders:HoldDuration; default 15m). "
                + "A hold given here also shortens the settle window after the expiry and the saga sweep to 10 s, so an expiry shows soon after.",
        };
        hold.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && !(DurationText.Parse(text) <= MaxHold))
            {
                result.AddError("--hold must be a positive duration of at most 24h, e.g. 20s, 2m or 00:01:30.");
            }
        });
        var retention = new Option<string?>("--retention")
        {
            Description = "Keep outbox, inbox, pub/sub log, dead letters, payment work, idempotency keys and expired actor state only this long, e.g. 2m (a soak); default: the README's retention table.",
        };
        retention.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<string?>() is { } text && !(DurationText.Parse(text) > TimeSpan.Zero))
            {
                result.AddError("--retention must be a positive duration, e.g. 2m.");
            }
        });
        var faults = new Option<string[]>("--pubsub-fault")
        {
            Description = "Chaos testing only: `twice` delivers every acked pub/sub message once more; `reorder` waits a random 0-500 ms before each delivery. Repeatable.",
            Hidden = true,
        };
        faults.AcceptOnlyFromAmong("twice", "reorder");
        var noSweeper = new Option<bool>("--no-sweeper")
        {
            Description = "Chaos testing only: order-service runs without its safety-net sweepers (Orders:SweepInterval 0), so that only the sagas end orders.",
            Hidden = true,
        };
        var command = new Command("up", "Build, start every app of the repository's dapr.yaml on the embedded Dapr runtime and seed a demo event.") { hold, retention, faults, noSweeper };
        options.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            var runFile = FindRepositoryRunFile(Directory.GetCurrentDirectory());
            if (runFile is null)
            {
                AnsiConsole.MarkupLine("[red]No dapr.yaml in this folder or above it: run `ticketsaga up` inside the TicketSaga repository.[/]");
                return 2;
            }

            var orderHold = parse.GetValue(hold) is { } text ? OrderHold.Short(DurationText.Parse(text)!.Value) : OrderHold.ServiceDefaults;
            try
            {
                // Every port before the stub takes its own; `run` checks the apps' again after this.
                PortCheck.EnsureFree(MultiAppRunner.PortsOf(RunFile.Load(runFile)).Concat(LocalStripe.PortsUnlessConfigured()));
                await using var stripe = await LocalStripe.StartUnlessConfiguredAsync();
                var orderService = new Dictionary<string, string>(orderHold.OrderServiceEnvironment);
                if (parse.GetValue(noSweeper))
                {
                    orderService["Orders__SweepInterval"] = TimeSpan.Zero.ToString("c");
                }

                var environment = new Dictionary<string, IReadOnlyDictionary<string, string>> { [AppIds.OrderService] = orderService };
                if (stripe is not null)
                {
                    environment[AppIds.PaymentService] = stripe.PaymentServiceEnvironment;
                    environment[AppIds.Gateway] = stripe.GatewayEnvironment;
                }

                var settings = options.Read(parse, runFile) with
                {
                    AppEnvironment = environment,
                    DeliveryFaults = new DeliveryFaults
                    {
                        DeliverTwice = parse.GetValue(faults)?.Contains("twice") == true,
                        MaxReorderDelay = parse.GetValue(faults)?.Contains("reorder") == true ? TimeSpan.FromMilliseconds(500) : TimeSpan.Zero,
                    },
                };
                if (parse.GetValue(retention) is { } period)
                {
                    settings = settings with
                    {
                        CommonEnvironment = ShortRetention.AppEnvironment(DurationText.Parse(period)!.Value),
                        RuntimeRetention = ShortRetention.Runtime(DurationText.Parse(period)!.Value),
                    };
                }

                try
                {
                    return await RunCommand.RunAsync(settings, (session, cancellationToken) => SeedAndGreetAsync(session, orderHold, cancellationToken));
                }
                finally
                {
                    // Only this run's: a refused start leaves the running `up`'s session file alone.
                    UpSession.Delete(runFile);
                }
            }
            catch (RunFileException ex)
            {
                RunCommand.Fail(ex.Message);
                return 2;
            }
            catch (RunnerException ex)
            {
                RunCommand.Fail(ex.Message);
                return 1;
            }
        });
        return command;
    }

    internal static string? FindRepositoryRunFile(string folder)
    {
        for (var current = new DirectoryInfo(folder); current is not null; current = current.Parent)
        {
            var candidate = Path.Combine(current.FullName, "dapr.yaml");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    private static async Task SeedAndGreetAsync(RunSession session, OrderHold hold, CancellationToken cancellationToken)
    {
        var tickets = session.Runner.Apps.FirstOrDefault(a => a.Definition.AppId == AppIds.TicketService);
        var venues = session.Runner.Apps.FirstOrDefault(a => a.Definition.AppId == AppIds.VenueService);
        var seeded = "not seeded (ticket-service or venue-service is not in dapr.yaml)";
        if (tickets is not null && venues is not null)
        {
            // Seeding goes through the apps' sidecars like every service call.
            using var ticketChannel = AppChannel.ThroughSidecar(tickets);
            using var venueChannel = AppChannel.ThroughSidecar(venues);
            seeded = await DemoEvent.SeedAsync(ticketChannel.Invoker, venueChannel.Invoker, cancellationToken);
        }

        var upSession = UpSession.From(session, hold);
        upSession.Write(session.RunFile.FilePath);
        PrintNewcomerGuide(session, upSession, hold, seeded);
    }

    private static void PrintNewcomerGuide(RunSession session, UpSession up, OrderHold hold, string seeded)
    {
        var gateway = up.Gateway;
        var cli = "dotnet run --project src/TicketSaga.Cli --no-build --";
        var json = "-H \"Authorization: Bearer $TOKEN\" -H \"Content-Type: application/json\"";
        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLineInterpolated($"[bold green]Storefront: {gateway}/[/]   (sign in with any user name, pick seats, pay with a test card)");
        AnsiConsole.MarkupLineInterpolated($"[bold green]Gateway: {gateway}[/]   API docs: {gateway}/docs");
        AnsiConsole.MarkupLineInterpolated(
            $"Holds last {Describe(hold.Duration)}{(hold.Configured ? "" : " (`up --hold 20s` for a quick expiry)")}; an unpaid order is EXPIRED {Describe(hold.SettleWindow)} after that (the settle window for a payment captured in time).");
        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine("[bold]Buy a ticket[/] (another terminal, in this folder; jq reads the order id):");
        foreach (var line in new[]
        {
            $"export TOKEN=$({cli} token --user alice)",
            $"curl -s {gateway}/events | jq",
            $"ORDER=$(curl -s -X POST {gateway}/orders {json} -d '{{\"ticket_id\":\"{DemoEvent.FloorTicketId}\",\"qty\":2}}' | jq -r .order_id)",
            $"curl -s -X POST {gateway}/payments/confirm {json} -d '{{\"order_id\":\"'$ORDER'\",\"payment_method\":\"pm_card_visa\"}}'",
            $"curl -s {gateway}/orders/$ORDER -H \"Authorization: Bearer $TOKEN\" | jq .status      # CONFIRMED",
        })
        {
            // Plain writes: Spectre would wrap a long command at the console width.
            Console.WriteLine("  " + line);
        }

        Console.WriteLine($"Let one expire: POST another order, do not pay, GET it after {Describe(hold.Duration + hold.SettleWindow)}: EXPIRED, its seats free again in");
        Console.WriteLine($"  curl -s {gateway}/events/{DemoEvent.EventId}/seats | jq -c '.seats[] | select(.status != \"available\")'");
        Console.WriteLine($"Load test: {cli} load flash-sale --buyers 500 --seats 100");
        AnsiConsole.WriteLine();

        var root = session.RunFile.Directory;
        AnsiConsole.MarkupLineInterpolated($"[grey]Demo event[/] {DemoEvent.EventId}: {seeded}");
        foreach (var app in session.Runner.Apps)
        {
            var protocol = app.Definition.Protocol.ToString().ToLowerInvariant();
            AnsiConsole.MarkupLineInterpolated(
                $"  {app.Definition.AppId,-20} {protocol} http://127.0.0.1:{app.Descriptor.AppPort}   sidecar: HTTP {app.Descriptor.HttpPort}, gRPC {app.Descriptor.GrpcPort} (dapr-app-id: {app.Definition.AppId})");
        }

        AnsiConsole.MarkupLineInterpolated($"  PostgreSQL: {session.Postgres.Description}");
        AnsiConsole.MarkupLineInterpolated($"  Logs:       {Path.GetRelativePath(root, session.Runner.LogDirectory)}/<app>.log, runtime.log for the sidecars");
        AnsiConsole.MarkupLine("  Crashes:    an app that dies is restarted (back-off 1 s, 2 s, 4 s ... 30 s); --stop-on-app-exit stops everything instead");
        AnsiConsole.MarkupLine("  Stop:       Ctrl+C (apps first, then sidecars and the runtime; the local PostgreSQL keeps its data)");
    }

    private static string Describe(TimeSpan duration) =>
        duration.TotalSeconds < 120 ? $"{duration.TotalSeconds:0} s" : duration.TotalMinutes < 120 ? $"{duration.TotalMinutes:0.#} min" : $"{duration.TotalHours:0.#} h";
}

/// <summary>A gRPC channel to one app through its sidecar (the `dapr-app-id` header, as Dapr service invocation does).</summary>
internal sealed class AppChannel(GrpcChannel channel, CallInvoker invoker) : IDisposable
{
    public CallInvoker Invoker { get; } = invoker;

    public static AppChannel ThroughSidecar(RunningApp app) => ThroughSidecar(app.Descriptor.GrpcPort, app.Definition.AppId, app.Descriptor.DaprApiToken);

    /// <param name="daprApiToken">The sidecar's Dapr API token (the operator's tool holds it, as the app does).</param>
    public static AppChannel ThroughSidecar(int sidecarGrpcPort, string appId, string? daprApiToken)
    {
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{sidecarGrpcPort}");
        return new AppChannel(channel, channel.Intercept(metadata =>
        {
            metadata.Add(InvocationExtensions.AppIdHeader, appId);
            if (daprApiToken is not null)
            {
                metadata.Add(AppDescriptor.TokenHeader, daprApiToken);
            }

            return metadata;
        }));
    }


    public void Dispose() => channel.Dispose();
}
