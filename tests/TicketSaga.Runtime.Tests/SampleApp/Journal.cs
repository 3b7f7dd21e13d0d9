using System.Collections.Concurrent;

namespace TicketSaga.Runtime.Tests.SampleApp;

/// <summary>What the sample app's actors and activities saw, in order, for tests to assert on.</summary>
public sealed class Journal
{
    private readonly ConcurrentQueue<string> _entries = new();
    private readonly ConcurrentDictionary<string, int> _running = new();
    private int _runningOverall;

    public int MostConcurrentTurnsOnOneActor { get; private set; }

    public int MostConcurrentTurnsOverall { get; private set; }

    public IReadOnlyList<string> Entries => [.. _entries];

    public void Record(string entry) => _entries.Enqueue(entry);

    public int Count(string entry) => _entries.Count(e => e == entry);

    public void EnterTurn(string actorId)
    {
        var onActor = _running.AddOrUpdate(actorId, 1, (_, n) => n + 1);
        var overall = Interlocked.Increment(ref _runningOverall);
        lock (_entries)
        {
            MostConcurrentTurnsOnOneActor = Math.Max(MostConcurrentTurnsOnOneActor, onActor);
            MostConcurrentTurnsOverall = Math.Max(MostConcurrentTurnsOverall, overall);
        }
    }

    public void ExitTurn(string actorId)
    {
        _running.AddOrUpdate(actorId, 0, (_, n) => n - 1);
        Interlocked.Decrement(ref _runningOverall);
    }

    /// <summary>Waits until <paramref name="entry"/> was recorded at least <paramref name="times"/> times (fails after 30 s).</summary>
    public async Task WaitForAsync(string entry, int times = 1)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (Count(entry) < times)
        {
            if (timeout.IsCancellationRequested)
            {
                throw new TimeoutException($"'{entry}' was recorded {Count(entry)} times, expected {times}. Journal: {string.Join(", ", Entries)}");
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }
}
