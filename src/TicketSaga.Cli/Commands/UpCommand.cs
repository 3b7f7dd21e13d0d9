using System.CommandLine;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Spectre.Console;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// `ticketsaga up`: the repository's dapr.yaml (found from the current folder upwards) on the embedded
/// runtime, built first, with the demo event seeded once, then what a newcomer needs to know.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var options = new RunOptions();
        var command = new Command("up", "Build, start every app of the repository's dapr.yaml on the embedded Dapr runtime and seed a demo event.");
        options.AddTo(command);
        command.SetAction(async (parse, _) =>
        {
            var runFile = FindRepositoryRunFile(Directory.GetCurrentDirectory());
            if (runFile is null)
            {
                AnsiConsole.MarkupLine("[red]No dapr.yaml in this folder or above it: run `ticketsaga up` inside the TicketSaga repository.[/]");
                return 2;
            }

            return await RunCommand.RunAsync(options.Read(parse, runFile), SeedAndGreetAsync);
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

    private static async Task SeedAndGreetAsync(RunSession session, CancellationToken cancellationToken)
    {
        var tickets = session.Runner.Apps.FirstOrDefault(a => a.Definition.AppId == AppIds.TicketService);
        var venues = session.Runner.Apps.FirstOrDefault(a => a.Definition.AppId == AppIds.VenueService);
        if (tickets is not null && venues is not null)
        {
            using var ticketChannel = await ChannelAsync(tickets, cancellationToken);
            using var venueChannel = await ChannelAsync(venues, cancellationToken);
            var seeded = await DemoEvent.SeedAsync(ticketChannel.Invoker, venueChannel.Invoker, cancellationToken);
            AnsiConsole.MarkupLineInterpolated($"[green]Demo event[/] {DemoEvent.EventId}: {seeded}");
        }

        PrintNewcomerGuide(session);
    }

    /// <summary>
    /// Seeding goes through the app's sidecar like every service call (the `dapr-app-id` header). A
    /// sidecar without the invocation proxy answers Unimplemented; then the app's own port is used.
    /// </summary>
    private static async Task<AppChannel> ChannelAsync(RunningApp app, CancellationToken cancellationToken)
    {
        var sidecar = AppChannel.ThroughSidecar(app);
        if (await DemoEvent.AnswersAsync(sidecar.Invoker, app.Definition.AppId, cancellationToken))
        {
            return sidecar;
        }

        sidecar.Dispose();
        AnsiConsole.MarkupLineInterpolated($"[yellow]The sidecar of {app.Definition.AppId} does not proxy gRPC invocation; seeding on the app's port {app.Descriptor.AppPort} directly.[/]");
        return AppChannel.Direct(app);
    }

    private static void PrintNewcomerGuide(RunSession session)
    {
        var root = session.RunFile.Directory;
        AnsiConsole.WriteLine();
        AnsiConsole.MarkupLine("[bold]TicketSaga is running on the embedded Dapr runtime.[/]");
        foreach (var app in session.Runner.Apps)
        {
            var protocol = app.Definition.Protocol.ToString().ToLowerInvariant();
            AnsiConsole.MarkupLineInterpolated(
                $"  {app.Definition.AppId,-20} {protocol} http://127.0.0.1:{app.Descriptor.AppPort}   sidecar: HTTP {app.Descriptor.HttpPort}, gRPC {app.Descriptor.GrpcPort} (dapr-app-id: {app.Definition.AppId})");
        }

        AnsiConsole.MarkupLineInterpolated($"  PostgreSQL: {session.Postgres.Description}");
        AnsiConsole.MarkupLineInterpolated($"  Logs:       {Path.GetRelativePath(root, session.Runner.LogDirectory)}/<app>.log, runtime.log for the sidecars");
        AnsiConsole.MarkupLine("  Stop:       Ctrl+C (apps first, then sidecars and the runtime; the local PostgreSQL keeps its data)");
    }
}

/// <summary>A gRPC channel to one app, through its sidecar or straight to its port.</summary>
internal sealed class AppChannel(GrpcChannel channel, CallInvoker invoker) : IDisposable
{
    public CallInvoker Invoker { get; } = invoker;

    public static AppChannel ThroughSidecar(RunningApp app)
    {
        var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{app.Descriptor.GrpcPort}");
        var appId = app.Definition.AppId;
        return new AppChannel(channel, channel.Intercept(metadata =>
        {
            metadata.Add("dapr-app-id", appId);
            return metadata;
        }));
    }

    public static AppChannel Direct(RunningApp app)
    {
        var channel = GrpcChannel.ForAddress(app.Descriptor.AppAddress);
        return new AppChannel(channel, channel.CreateCallInvoker());
    }

    public void Dispose() => channel.Dispose();
}
