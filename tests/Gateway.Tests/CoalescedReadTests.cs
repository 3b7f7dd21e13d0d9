extern alias GatewayApp;

using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;
using GatewayApp::TicketSaga.Gateway.Admission;

namespace TicketSaga.Gateway.Tests;

/// <summary>The availability reads behind the sold-out answer: shared by the callers who wait, never older than them, spaced apart.</summary>
public sealed class CoalescedReadTests
{
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(10);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly FakeTimeProvider _clock = new();
    private readonly Channel<TaskCompletionSource<int>> _started = Channel.CreateUnbounded<TaskCompletionSource<int>>();
    private int _reads;

    [Fact]
    public async Task Callers_arriving_during_a_read_share_the_next_one_which_starts_after_they_arrived()
    {
        var reads = NewReads(Spacing);
        var first = reads.NextAsync();
        var running = await StartedAsync();

        var second = reads.NextAsync();
        var third = reads.NextAsync();
        running.SetResult(1);
        Assert.Equal(1, await first.WaitAsync(Patience));
        Assert.False(second.IsCompleted, "a read that started before the caller came is not their answer");

        await SettleAsync();
        _clock.Advance(Spacing);
        (await StartedAsync()).SetResult(2);
        Assert.Equal(2, await second.WaitAsync(Patience));
        Assert.Equal(2, await third.WaitAsync(Patience));
        Assert.Equal(2, _reads);
    }

    [Fact]
    public async Task A_read_slower_than_the_spacing_is_never_joined_by_a_second_one()
    {
        var reads = NewReads(Spacing);
        _ = reads.NextAsync();
        var running = await StartedAsync();

        var second = reads.NextAsync();
        await SettleAsync();
        _clock.Advance(Spacing * 5);
        await SettleAsync();
        Assert.Equal(1, _reads);

        running.SetResult(1);
        (await StartedAsync()).SetResult(2);
        Assert.Equal(2, await second.WaitAsync(Patience));
    }

    [Fact]
    public async Task The_next_read_waits_until_the_spacing_since_the_last_one_started_is_over()
    {
        var reads = NewReads(Spacing);
        var first = reads.NextAsync();
        (await StartedAsync()).SetResult(1);
        await first.WaitAsync(Patience);
        await SettleAsync();

        _clock.Advance(Spacing / 2);
        var second = reads.NextAsync();
        _clock.Advance(Spacing / 2 - TimeSpan.FromTicks(1));
        await SettleAsync();
        Assert.Equal(1, _reads);

        _clock.Advance(TimeSpan.FromTicks(1));
        (await StartedAsync()).SetResult(2);
        Assert.Equal(2, await second.WaitAsync(Patience));
    }

    [Fact]
    public async Task After_a_quiet_spell_a_caller_gets_a_read_at_once()
    {
        var reads = NewReads(Spacing);
        var first = reads.NextAsync();
        (await StartedAsync()).SetResult(1);
        await first.WaitAsync(Patience);
        await SettleAsync();

        _clock.Advance(Spacing * 3);
        await SettleAsync();
        var later = reads.NextAsync();
        (await StartedAsync()).SetResult(2);
        Assert.Equal(2, await later.WaitAsync(Patience));
    }

    [Fact]
    public async Task Without_spacing_the_next_read_starts_as_the_last_one_ends_and_a_failed_read_fails_only_its_callers()
    {
        var reads = NewReads(TimeSpan.Zero);
        var first = reads.NextAsync();
        var running = await StartedAsync();
        var second = reads.NextAsync();
        running.SetException(new InvalidOperationException("ticket-service fell over"));

        await Assert.ThrowsAsync<InvalidOperationException>(() => first.WaitAsync(Patience));
        (await StartedAsync()).SetResult(2);
        Assert.Equal(2, await second.WaitAsync(Patience));
    }

    private CoalescedRead<int> NewReads(TimeSpan spacing) => new(() =>
    {
        Interlocked.Increment(ref _reads);
        var read = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        _started.Writer.TryWrite(read);
        return read.Task;
    }, spacing, _clock);

    /// <summary>Real time for the reader's loop to reach its wait (or its end) before the fake clock moves: a timer made after the move would wait from there.</summary>
    private static Task SettleAsync() => Task.Delay(50, TestContext.Current.CancellationToken);

    private async Task<TaskCompletionSource<int>> StartedAsync() =>
        await _started.Reader.ReadAsync(TestContext.Current.CancellationToken).AsTask().WaitAsync(Patience);
}
