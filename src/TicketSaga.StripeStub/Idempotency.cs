using System.Collections.Concurrent;
using System.Text.Json.Nodes;

namespace TicketSaga.StripeStub;

/// <summary>
/// Stripe's <c>Idempotency-Key</c> semantics: the first answer of a key is kept and replayed
/// (<c>Idempotent-Replayed: true</c>) for the same request; the same key with other parameters or on
/// another endpoint is a 400 <c>idempotency_error</c>, and while the first request still runs a 409.
/// Like Stripe, only answers of requests that executed are kept (200 and card errors), not
/// validation errors, so a corrected request may reuse its key; and a key is forgotten once it is
/// <see cref="StripeStubOptions.IdempotencyKeyRetention"/> old.
/// </summary>
public sealed class IdempotencyStore
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Kept keys, oldest first, for forgetting them.</summary>
    private readonly RecentItems<(string Key, Entry Entry)> _kept;
    private readonly StubJournal _journal;

    /// <param name="journal">Kept answers survive a restart: a client retrying after one must not buy twice.</param>
    public IdempotencyStore(StubJournal journal, TimeSpan retention)
    {
        _journal = journal;
        _kept = new(retention);
        foreach (var saved in journal.Records.Select(r => r["idempotency"]).OfType<JsonObject>())
        {
            // Kept with its age: one older than the retention goes at the first request, like any other.
            var age = saved["kept_at"] is { } at ? DateTimeOffset.UtcNow - DateTimeOffset.FromUnixTimeSeconds(at.GetValue<long>()) : TimeSpan.Zero;
            var key = saved["key"]!.GetValue<string>();
            var entry = new Entry(saved["fingerprint"]!.GetValue<string>());
            _entries[key] = entry;
            Keep(key, entry, new Kept(saved["status"]!.GetValue<int>(), saved["body"]!.ToJsonString()), age);
        }
    }

    public (StubResult Result, bool Replayed) Execute(string? key, string fingerprint, Func<StubResult> action)
    {
        if (string.IsNullOrEmpty(key))
        {
            return (action(), false);
        }

        _kept.Forget(forgotten => _entries.TryRemove(KeyValuePair.Create(forgotten.Key, forgotten.Entry)));
        var mine = new Entry(fingerprint);
        var entry = _entries.GetOrAdd(key, mine);
        if (!ReferenceEquals(entry, mine))
        {
            if (entry.Fingerprint != fingerprint)
            {
                return (StripeErrors.Idempotency(
                    $"Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '{key}' if you meant to execute a different request."), false);
            }

            return entry.Answer is { } kept
                ? (new StubResult(kept.Status, JsonNode.Parse(kept.Body)!.AsObject()), true)
                : (StripeErrors.Idempotency("There is currently another in-progress request using this Stripe API Key and idempotency key (if applicable). Please try again later.", 409), false);
        }

        var result = action();
        if (result.Status is 200 or 402)
        {
            _journal.Append("idempotency", new JsonObject
            {
                ["key"] = key, ["fingerprint"] = fingerprint, ["status"] = result.Status, ["body"] = result.Body.DeepClone(),
                ["kept_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
            });
            Keep(key, mine, new Kept(result.Status, result.Body.ToJsonString()));
        }
        else
        {
            _entries.TryRemove(KeyValuePair.Create(key, mine));
        }

        return (result, false);
    }

    private void Keep(string key, Entry entry, Kept answer, TimeSpan age = default)
    {
        entry.Answer = answer;
        _kept.Add((key, entry), age);
    }

    /// <summary>A kept answer, as JSON text: a parsed body costs several times its size, and replays are rare.</summary>
    private sealed record Kept(int Status, string Body);

    private sealed class Entry(string fingerprint)
    {
        private Kept? _answer;

        public string Fingerprint { get; } = fingerprint;

        public Kept? Answer
        {
            get => Volatile.Read(ref _answer);
            set => Volatile.Write(ref _answer, value);
        }
    }
}
