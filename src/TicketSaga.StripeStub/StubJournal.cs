using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace TicketSaga.StripeStub;

/// <summary>
/// The stub's state on disk (<see cref="StripeStubOptions.JournalPath"/>): one JSON line per change —
/// a PaymentIntent's whole new state, a refund, a raised event, an event's delivery, an idempotent
/// answer — appended and fsynced before the request is answered, so that a stub killed with SIGKILL
/// comes back with every answer it gave. Replayed in order at start (the last state of an intent wins).
/// Without a path nothing is written: the state lives in memory only.
/// </summary>
public sealed class StubJournal : IDisposable
{
    private readonly Lock _gate = new();
    private readonly FileStream? _file;

    private StubJournal(FileStream? file, IReadOnlyList<JsonObject> records)
    {
        _file = file;
        Records = records;
    }

    /// <summary>What the journal held when it was opened, oldest first, until the state is built from it.</summary>
    public IReadOnlyList<JsonObject> Records { get; private set; }

    public static StubJournal InMemory() => new(null, []);

    public static StubJournal Open(string path)
    {
        var records = Read(path);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var file = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read);
        return new StubJournal(file, records);
    }

    /// <summary>
    /// The journal's records; a last line cut short by a kill during its write was never acknowledged
    /// (the write had not returned), so it is skipped.
    /// </summary>
    public static IReadOnlyList<JsonObject> Read(string path)
    {
        if (!File.Exists(path))
        {
            return [];
        }

        var records = new List<JsonObject>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete));
        while (reader.ReadLine() is { } line)
        {
            try
            {
                if (JsonNode.Parse(line) is JsonObject record)
                {
                    records.Add(record);
                }
            }
            catch (JsonException)
            {
                // The torn tail of a killed write.
            }
        }

        return records;
    }

    /// <summary>The PaymentIntents a journal file holds now (their last state), for a checker outside the stub.</summary>
    public static IReadOnlyList<PaymentIntentSnapshot> PaymentIntentsIn(string path)
    {
        return [.. Ledger.IntentsIn(Read(path)).Values.Select(i => i.Snapshot())];
    }

    /// <summary>The state has been built from <see cref="Records"/>: a long journal need not stay in memory as well.</summary>
    internal void ForgetReplayed() => Records = [];

    internal void Append(string kind, JsonNode value)
    {
        if (_file is null)
        {
            return;
        }

        var line = Encoding.UTF8.GetBytes(new JsonObject { [kind] = value.DeepClone() }.ToJsonString() + "\n");
        lock (_gate)
        {
            _file.Write(line);
            _file.Flush(flushToDisk: true);
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _file?.Dispose();
        }
    }
}
