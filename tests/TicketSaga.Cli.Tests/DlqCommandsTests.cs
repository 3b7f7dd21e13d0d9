using System.Net;
using System.Text.Json;
using Dapr.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Spectre.Console;
using TicketSaga.Cli.Commands;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Testing;

[assembly: AssemblyFixture(typeof(PostgresServer))]

namespace TicketSaga.Cli.Tests;

/// <summary>`ticketsaga dlq` against a real runtime database, with a message a real subscriber dropped.</summary>
public sealed class DlqCommandsTests(PostgresServer postgres)
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_dropped_message_is_listed_with_its_reason_and_replayed_exactly_once()
    {
        var connectionString = await postgres.CreateDatabaseAsync("dlq");
        await using var runtime = await EmbeddedRuntime.StartAsync(
            new RuntimeOptions { PostgresConnectionString = connectionString, Database = new NpgsqlConnectionStringBuilder(connectionString).Database! },
            NullLoggerFactory.Instance, Cancel);
        var deliveries = 0;
        var subscriber = new AppDescriptor("seat-auditor", PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort());
        await using var app = await StartSubscriberAsync(subscriber.AppPort, () =>
            // The first delivery is refused for good; the replayed one is accepted.
            Interlocked.Increment(ref deliveries) == 1 ? Results.Json(new { status = "DROP" }) : Results.Ok());
        await runtime.AddSidecarAsync(subscriber, Cancel);
        var publisher = await runtime.AddSidecarAsync(
            new AppDescriptor("seat-publisher", PortAllocator.FreePort(), AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort()), Cancel);
        using var dapr = new DaprClientBuilder().UseGrpcEndpoint($"http://127.0.0.1:{publisher.App.GrpcPort}").Build();

        // The CLI's own view of the database: a separate data source, no in-process wake-up of the runtime.
        await using var dataSource = NpgsqlDataSource.Create(connectionString);
        var deadLetters = new DeadLetters(dataSource);
        await dapr.PublishEventAsync("pubsub", "seats.audit", new { seat = "A-12" }, Cancel);
        await EventuallyAsync(async () => (await deadLetters.ListAsync(cancellationToken: Cancel)).Count == 1, "the dead letter");
        var id = (await deadLetters.ListAsync(cancellationToken: Cancel)).Single().Id;

        var (listed, table) = await RunAsync(console => DlqCommands.ListAsync(deadLetters, "seat-auditor", null, false, false, console, Cancel));
        var (_, json) = await RunAsync(console => DlqCommands.ListAsync(deadLetters, null, "seats.audit", false, true, console, Cancel));
        var (replayed, replayOutput) = await RunAsync(console => DlqCommands.ReplayAsync(deadLetters, id.ToString(), console, Cancel));
        await EventuallyAsync(() => Task.FromResult(Volatile.Read(ref deliveries) == 2), "the replayed delivery");
        var (again, againOutput) = await RunAsync(console => DlqCommands.ReplayAsync(deadLetters, id.ToString(), console, Cancel));
        var (unknown, unknownOutput) = await RunAsync(console => DlqCommands.ReplayAsync(deadLetters, Guid.NewGuid().ToString(), console, Cancel));
        var (malformed, _) = await RunAsync(console => DlqCommands.ReplayAsync(deadLetters, "seat-A-12", console, Cancel));
        var (_, waiting) = await RunAsync(console => DlqCommands.ListAsync(deadLetters, null, null, false, false, console, Cancel));
        var (_, everything) = await RunAsync(console => DlqCommands.ListAsync(deadLetters, null, null, true, false, console, Cancel));

        Assert.Equal(0, listed);
        Assert.Contains(id.ToString(), table);
        Assert.Contains("seat-auditor", table);
        Assert.Contains("seats.audit", table);
        Assert.Contains(DeadLetterReasons.DroppedByApp, table);
        Assert.Contains("the app answered DROP", table);
        var record = Assert.Single(JsonDocument.Parse(json).RootElement.EnumerateArray());
        Assert.Equal(id.ToString(), record.GetProperty("id").GetString());
        Assert.Equal(1, record.GetProperty("attempts").GetInt32());
        Assert.Equal("A-12", record.GetProperty("cloud_event").GetProperty("data").GetProperty("seat").GetString());
        Assert.Equal(0, replayed);
        Assert.Contains("Replayed", replayOutput);
        Assert.Equal(1, again);
        Assert.Contains("already replayed", againOutput);
        Assert.Equal(1, unknown);
        Assert.Contains("No dead-lettered message with id", unknownOutput);
        Assert.Equal(1, malformed);
        Assert.Contains("No dead-lettered messages waiting", waiting);
        Assert.Contains(id.ToString(), everything);
        Assert.Equal(2, Volatile.Read(ref deliveries));
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(Func<IAnsiConsole, Task<int>> command)
    {
        using var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
        });
        console.Profile.Width = 400;
        var exitCode = await command(console);
        return (exitCode, output.ToString());
    }

    private static async Task<WebApplication> StartSubscriberAsync(int port, Func<IResult> answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var web = builder.Build();
        web.MapGet("/dapr/subscribe", () => Results.Json(new[] { new { pubsubName = "pubsub", topic = "seats.audit", route = "/audit" } }));
        web.MapPost("/audit", answer);
        await web.StartAsync();
        return web;
    }

    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"Timed out waiting for {what}");
            await Task.Delay(20, Cancel);
        }
    }
}
