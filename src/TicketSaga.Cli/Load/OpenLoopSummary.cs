namespace TicketSaga.Cli.Load;

internal sealed record LatencySummary(long Count, double P50Ms, double P90Ms, double P99Ms, double P999Ms, double MaxMs)
{
    public static LatencySummary Of(LatencyHistogram histogram) => new(
        histogram.Count,
        Math.Round(histogram.PercentileMs(50), 2),
        Math.Round(histogram.PercentileMs(90), 2),
        Math.Round(histogram.PercentileMs(99), 2),
        Math.Round(histogram.PercentileMs(99.9), 2),
        Math.Round(histogram.MaxMs, 2));
}

internal sealed record SpectrumPoint(double Percentile, double Ms);

/// <summary>One second of the run: the latency of the arrivals due in it, and the answers that came in it.</summary>
internal sealed record SecondFigures(
    int Second, int Due, double P50Ms, double P99Ms, double MaxMs, int Answers, int Reserved, int SoldOut, int Queued, int Errors);

/// <summary>What an open-loop run came to, from the buyers' side.</summary>
internal sealed record OpenLoopSummary(
    double Rate,
    double DurationS,
    int Arrivals,
    int Answered,
    int Reserved,
    int SoldOut,
    int Queued,
    int StillQueued,
    int Refused,
    int Failed,
    int NotSent,
    IReadOnlyDictionary<string, int> Errors,
    double AnswersPerS,
    double ReservedPerS,
    LatencySummary Latency,
    LatencySummary TimeToAdmission,
    IReadOnlyList<SpectrumPoint> LatencySpectrum,
    IReadOnlyList<SecondFigures> Seconds)
{
    /// <summary>
    /// The rate is sustained: every buyer was answered without a wait in the queue, none refused or
    /// failed, and the answers' p99 (from the scheduled send) is within the target.
    /// </summary>
    public bool Sustains(double p99TargetMs) =>
        Latency.P99Ms <= p99TargetMs && Refused + Failed + NotSent + StillQueued == 0 && Queued == 0 && Answered == Arrivals;

    public static OpenLoopSummary Of(double rate, TimeSpan duration, IReadOnlyList<ArrivalRecord> records)
    {
        var latency = new LatencyHistogram();
        var admission = new LatencyHistogram();
        foreach (var record in records.Where(r => r.HasAnswer))
        {
            latency.Record(record.Latency);
            if (record.ToAdmission is { } toAdmission && record.Kind != AnswerKind.StillQueued)
            {
                admission.Record(toAdmission);
            }
        }

        var errors = records
            .Where(r => r.Kind is AnswerKind.Refused or AnswerKind.Failed or AnswerKind.NotSent)
            .GroupBy(r => r.Detail ?? r.Kind.ToString())
            .ToDictionary(g => g.Key, g => g.Count());
        var answered = records.Count(r => r.HasAnswer);
        var reserved = records.Count(r => r.Kind == AnswerKind.Reserved);
        var lastAnswer = records.Where(r => r.HasAnswer).Select(r => r.Answered).DefaultIfEmpty().Max();
        return new OpenLoopSummary(
            rate,
            duration.TotalSeconds,
            records.Count,
            answered,
            reserved,
            records.Count(r => r.Kind == AnswerKind.SoldOut),
            records.Count(r => r.Queued),
            records.Count(r => r.Kind == AnswerKind.StillQueued),
            records.Count(r => r.Kind == AnswerKind.Refused),
            records.Count(r => r.Kind == AnswerKind.Failed),
            records.Count(r => r.Kind == AnswerKind.NotSent),
            new SortedDictionary<string, int>(errors),
            lastAnswer > TimeSpan.Zero ? Math.Round(answered / lastAnswer.TotalSeconds, 1) : 0,
            lastAnswer > TimeSpan.Zero ? Math.Round(reserved / lastAnswer.TotalSeconds, 1) : 0,
            LatencySummary.Of(latency),
            LatencySummary.Of(admission),
            [.. latency.Spectrum().Select(p => new SpectrumPoint(p.Percentile, Math.Round(p.Ms, 3)))],
            PerSecond(records));
    }

    private static List<SecondFigures> PerSecond(IReadOnlyList<ArrivalRecord> records)
    {
        var last = records.Select(r => Math.Max(r.Due.TotalSeconds, r.Answered.TotalSeconds)).DefaultIfEmpty().Max();
        var dueIn = records.Where(r => r.HasAnswer).ToLookup(r => (int)r.Due.TotalSeconds);
        var answeredIn = records.Where(r => r.Kind != AnswerKind.NotSent).ToLookup(r => (int)r.Answered.TotalSeconds);
        return [.. Enumerable.Range(0, (int)last + 1).Select(second =>
        {
            var latencies = dueIn[second].Select(r => r.Latency.TotalMilliseconds).Order().ToArray();
            var answers = answeredIn[second].ToList();
            return new SecondFigures(
                second,
                latencies.Length,
                Math.Round(Percentile(latencies, 50), 2),
                Math.Round(Percentile(latencies, 99), 2),
                Math.Round(latencies.DefaultIfEmpty().Max(), 2),
                answers.Count(r => r.HasAnswer),
                answers.Count(r => r.Kind == AnswerKind.Reserved),
                answers.Count(r => r.Kind == AnswerKind.SoldOut),
                answers.Count(r => r.Queued),
                answers.Count(r => r.Kind is AnswerKind.Refused or AnswerKind.Failed));
        })];
    }

    /// <summary>Nearest rank over sorted values; 0 for none.</summary>
    private static double Percentile(double[] sorted, double percentile) =>
        sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(percentile / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];
}
