using System.Diagnostics;

namespace TicketSaga.Cli.Load;

/// <summary>What one arrival came to, as its buyer saw it.</summary>
internal enum AnswerKind
{
    Reserved,
    SoldOut,

    /// <summary>Still in the waiting room when the buyer gave up waiting.</summary>
    StillQueued,

    /// <summary>Any other HTTP answer (5xx, 4xx that is not sold out).</summary>
    Refused,

    /// <summary>No HTTP answer: connection refused, reset, timed out.</summary>
    Failed,

    /// <summary>Not sent: the tool itself had too many requests in flight (its own bound, reported, never hidden).</summary>
    NotSent,
}

/// <summary>
/// The buyer's answer: its kind, when the first answer came (a seat, sold out, or a queue place) and,
/// for a buyer who was queued, when the waiting room let them in. Times are Stopwatch timestamps.
/// </summary>
internal sealed record BuyerAnswer(AnswerKind Kind, long FirstAnswerAt, bool Queued = false, long? AdmittedAt = null, string? Detail = null);

/// <summary>One arrival: when it was due and what it got, both from the start of the schedule.</summary>
internal readonly record struct ArrivalRecord(TimeSpan Due, TimeSpan Answered, AnswerKind Kind, bool Queued, TimeSpan? ToAdmission, string? Detail)
{
    /// <summary>From the scheduled send to the first answer: a late send counts against the system, not for it.</summary>
    public TimeSpan Latency => Answered - Due;

    public bool HasAnswer => Kind is not (AnswerKind.Failed or AnswerKind.NotSent);
}

/// <summary>
/// Open-loop arrivals: arrival i is due at start + i / rate and is sent then, however many earlier
/// ones are still waiting for their answer — so a slow system meets the same offered load as a fast
/// one, and latency is measured from the scheduled send (no coordinated omission). The one bound is
/// the tool's own: past <paramref name="maxOutstanding"/> requests in flight an arrival is counted
/// as not sent instead of exhausting the tool's memory or handles.
/// </summary>
internal sealed class OpenLoopScheduler(double rate, TimeSpan duration, int maxOutstanding)
{
    public int Arrivals { get; } = (int)Math.Floor(rate * duration.TotalSeconds);

    public TimeSpan DueAt(int arrival) => TimeSpan.FromSeconds(arrival / rate);

    public async Task<ArrivalRecord[]> RunAsync(Func<int, CancellationToken, Task<BuyerAnswer>> arrive, CancellationToken cancellationToken)
    {
        var records = new ArrivalRecord[Arrivals];
        var running = new List<Task>(Arrivals);
        var outstanding = 0;
        var start = Stopwatch.GetTimestamp();
        var next = 0;
        for (; next < Arrivals && !cancellationToken.IsCancellationRequested; next++)
        {
            var i = next;
            var due = DueAt(i);
            var early = due - Stopwatch.GetElapsedTime(start);
            if (early > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(early, CancellationToken.None);
            }

            if (Volatile.Read(ref outstanding) >= maxOutstanding)
            {
                records[i] = new ArrivalRecord(due, due, AnswerKind.NotSent, false, null, "tool: too many requests in flight");
                continue;
            }

            Interlocked.Increment(ref outstanding);
            // Task.Run: a send that does synchronous work first must not hold up the next arrival.
            running.Add(Task.Run(async () =>
            {
                try
                {
                    records[i] = Record(due, await arrive(i, cancellationToken), start);
                }
                catch (Exception ex)
                {
                    records[i] = new ArrivalRecord(due, Stopwatch.GetElapsedTime(start), AnswerKind.Failed, false, null, ex.GetType().Name);
                }
                finally
                {
                    Interlocked.Decrement(ref outstanding);
                }
            }, CancellationToken.None));
        }

        await Task.WhenAll(running);
        for (; next < Arrivals; next++)
        {
            records[next] = new ArrivalRecord(DueAt(next), DueAt(next), AnswerKind.NotSent, false, null, "run cancelled");
        }

        return records;
    }

    private static ArrivalRecord Record(TimeSpan due, BuyerAnswer answer, long start) => new(
        due,
        Stopwatch.GetElapsedTime(start, answer.FirstAnswerAt),
        answer.Kind,
        answer.Queued,
        answer.AdmittedAt is { } admitted ? Stopwatch.GetElapsedTime(start, admitted) - due : null,
        answer.Detail);
}
