using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace TicketSaga.StripeStub;

/// <summary>
/// Stripe's <c>Idempotency-Key</c> semantics: the first answer of a key is kept and replayed
/// (<c>Idempotent-Replayed: true</c>) for the same request; the same key with other parameters or on
/// another endpoint is a 400 <c>idempotency_error</c>, and while the first request still runs a 409.
/// Like Stripe, only answers of requests that executed are kept (200 and card errors), not
/// validation errors, so a corrected request may reuse its key.
/// </summary>
public sealed class IdempotencyStore
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly StubJournal _journal;

    /// <param name="journal">Kept answers survive a restart: a client retrying after one must not buy twice.</param>
    public IdempotencyStore(StubJournal journal)
    {
        _journal = journal;
        foreach (var saved in journal.Records.Select(r => r["idempotency"]).OfType<JsonObject>())
        {
            _entries[saved["key"]!.GetValue<string>()] = new Entry(saved["fingerprint"]!.GetValue<string>())
            {
                Result = new StubResult(saved["status"]!.GetValue<int>(), saved["body"]!.DeepClone().AsObject()),
            };
        }
    }

    public (StubResult Result, bool Replayed) Execute(string? key, string fingerprint, Func<StubResult> action)
    {
        if (string.IsNullOrEmpty(key))
        {
            return (action(), false);
        }

        var mine = new Entry(fingerprint);
        var entry = _entries.GetOrAdd(key, mine);
        if (!ReferenceEquals(entry, mine))
        {
            if (entry.Fingerprint != fingerprint)
            {
                return (StripeErrors.Idempotency(
                    $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."), false);
            }

            return entry.Result is { } kept
                ? (kept, true)
                : (StripeErrors.Idempotency("There is currently another in-progress request using this Stripe API Key and idempotency key (if applicable). Please try again later.", 409), false);
        }

        var result = action();
        if (result.Status is 200 or 402)
        {
            _journal.Append("idempotency", new JsonObject { ["key"] = key, ["fingerprint"] = fingerprint, ["status"] = result.Status, ["body"] = result.Body.DeepClone() });
            entry.Result = result;
        }
        else
        {
            _entries.TryRemove(KeyValuePair.Create(key, mine));
        }

        return (result, false);
    }

    private sealed class Entry(string fingerprint)
    {
        private StubResult? _result;

        public string Fingerprint { get; } = fingerprint;

        public StubResult? Result
        {
            get => Volatile.Read(ref _result);
            set => Volatile.Write(ref _result, value);
        }
    }
}
