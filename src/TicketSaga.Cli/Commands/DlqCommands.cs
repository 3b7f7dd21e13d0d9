using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Spectre.Console;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.PubSub;
using TicketSaga.Runtime.Runner;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// <c>ticketsaga dlq list|replay</c>: the dead-letter audit of the embedded runtime, read from its
/// PostgreSQL database (the runner's kept local cluster unless --postgres or TICKETSAGA_POSTGRES).
/// </summary>
public static class DlqCommands
{
    public static Command Create()
    {
        var postgres = new Option<string?>("--postgres")
        {
            Description = "PostgreSQL server of the runtime (or TICKETSAGA_POSTGRES); default: the local cluster `ticketsaga up` keeps in .ticketsaga/postgres.",
        };
        var database = new Option<string>("--database")
        {
            Description = "The runtime's database on that server.",
            DefaultValueFactory = _ => new RuntimeOptions { PostgresConnectionString = "" }.Database,
        };

        var app = new Option<string?>("--app") { Description = "Only messages dead-lettered for this app id." };
        var topic = new Option<string?>("--topic") { Description = "Only messages of this topic." };
        var all = new Option<bool>("--all") { Description = "Include messages already replayed." };
        var json = new Option<bool>("--json") { Description = "Print the records as a JSON array." };
        var list = new Command("list", "List dead-lettered messages: why, how many attempts, the last error.") { app, topic, all, json, postgres, database };
        list.SetAction((parse, cancellationToken) => WithDeadLettersAsync(parse.GetValue(postgres), parse.GetValue(database)!, (deadLetters, console) =>
            ListAsync(deadLetters, parse.GetValue(app), parse.GetValue(topic), parse.GetValue(all), parse.GetValue(json), console, cancellationToken)));

        var id = new Argument<string>("id") { Description = "The dead letter's id, as `dlq list` shows it." };
        var replay = new Command("replay", "Deliver a dead-lettered message again to its app (once; with a fresh retry budget).") { id, postgres, database };
        replay.SetAction((parse, cancellationToken) => WithDeadLettersAsync(parse.GetValue(postgres), parse.GetValue(database)!, (deadLetters, console) =>
            ReplayAsync(deadLetters, parse.GetValue(id)!, console, cancellationToken)));

        return new Command("dlq", "Inspect and replay the embedded runtime's dead-lettered messages.") { list, replay };
    }

    public static async Task<int> ListAsync(
        DeadLetters deadLetters, string? appId, string? topic, bool includeReplayed, bool json, IAnsiConsole console, CancellationToken cancellationToken)
    {
        var records = await deadLetters.ListAsync(appId, topic, includeReplayed, cancellationToken);
        if (json)
        {
            console.Profile.Out.Writer.WriteLine(JsonSerializer.Serialize(records.Select(View), JsonOptions));
            return 0;
        }

        if (records.Count == 0)
        {
            console.MarkupLine(includeReplayed ? "No dead-lettered messages." : "No dead-lettered messages waiting (--all shows replayed ones too).");
            return 0;
        }

        var table = new Table().Border(TableBorder.Rounded)
            .AddColumns("Id", "App", "Topic", "Reason", "Attempts", "Last error", "First attempt", "Last attempt", "Replayed");
        foreach (var record in records)
        {
            table.AddRow(
                Markup.Escape(record.Id.ToString()),
                Markup.Escape(record.AppId),
                Markup.Escape(record.Topic + (record.DeadLetterTopic is { } dlq ? $" → {dlq}" : "")),
                Markup.Escape(record.Reason),
                record.Attempts.ToString(CultureInfo.InvariantCulture),
                Markup.Escape(Shorten(record.LastError)),
                Time(record.FirstAttemptAt),
                Time(record.LastAttemptAt),
                record.ReplayedAt is { } replayedAt ? Time(replayedAt) : "-");
        }

        console.Write(table);
        console.MarkupLineInterpolated($"[grey]{records.Count} record(s). Replay one with `ticketsaga dlq replay <id>`.[/]");
        return 0;
    }

    /// <returns>0 when the message is queued for delivery again; 1 for an unknown or already replayed id.</returns>
    public static async Task<int> ReplayAsync(DeadLetters deadLetters, string id, IAnsiConsole console, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(id, out var recordId))
        {
            console.MarkupLineInterpolated($"[red]'{id}' is not a dead-letter id (a UUID, as `ticketsaga dlq list` shows).[/]");
            return 1;
        }

        var record = await deadLetters.FindAsync(recordId, cancellationToken);
        if (record is null)
        {
            console.MarkupLineInterpolated($"[red]No dead-lettered message with id {recordId}.[/]");
            return 1;
        }

        // ReplayAsync marks and re-queues atomically: of two concurrent replays, one wins.
        if (record.ReplayedAt is null && await deadLetters.ReplayAsync(recordId, cancellationToken))
        {
            console.MarkupLineInterpolated(
                $"[green]Replayed[/] message {record.MessageId} of topic {record.Topic}: app {record.AppId} gets it again with a fresh retry budget (a running runtime picks it up within a second).");
            return 0;
        }

        var replayedAt = record.ReplayedAt ?? (await deadLetters.FindAsync(recordId, cancellationToken))?.ReplayedAt;
        console.MarkupLineInterpolated($"[red]Dead letter {recordId} was already replayed{(replayedAt is { } at ? $" at {Time(at)}" : "")}; it is not replayed twice.[/]");
        return 1;
    }

    /// <summary>Opens the runtime's database (starting the kept local cluster if needed) and turns connection problems into clear errors.</summary>
    private static async Task<int> WithDeadLettersAsync(string? postgres, string database, Func<DeadLetters, IAnsiConsole, Task<int>> action)
    {
        var console = AnsiConsole.Console;
        var given = postgres ?? Environment.GetEnvironmentVariable("TICKETSAGA_POSTGRES");
        var runFile = given is null ? UpCommand.FindRepositoryRunFile(Directory.GetCurrentDirectory()) : null;
        if (given is null && runFile is null)
        {
            console.MarkupLine("[red]No --postgres, no TICKETSAGA_POSTGRES and no dapr.yaml here or above: run inside the TicketSaga repository or say which server to read.[/]");
            return 2;
        }

        try
        {
            await using var server = await RunnerPostgres.ResolveAsync(given, Path.Combine(Path.GetDirectoryName(runFile ?? ".") ?? ".", ".ticketsaga"));
            var connectionString = new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = database }.ConnectionString;
            await using var dataSource = NpgsqlDataSource.Create(connectionString);
            return await action(new DeadLetters(dataSource), console);
        }
        catch (RunnerException ex)
        {
            console.MarkupLineInterpolated($"[red]{ex.Message}[/]");
            return 1;
        }
        catch (PostgresException ex) when (ex.SqlState is PostgresErrorCodes.InvalidCatalogName or PostgresErrorCodes.UndefinedTable)
        {
            console.MarkupLineInterpolated($"[red]Database '{database}' holds no runtime data yet: nothing was ever dead-lettered there (start the apps with `ticketsaga up`).[/]");
            return 1;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    private static object View(DeadLetter record)
    {
        using var cloudEvent = JsonDocument.Parse(record.CloudEventJson);
        return new
        {
            record.Id, record.AppId, record.PubsubName, record.Topic, record.DeadLetterTopic, record.MessageId, record.Reason, record.LastError,
            record.Attempts, record.RetryDelaysMs, record.FirstAttemptAt, record.LastAttemptAt, record.RecordedAt, record.ReplayedAt,
            CloudEvent = cloudEvent.RootElement.Clone(),
        };
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..79] + "…";

    private static string Time(DateTimeOffset time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
