using Grpc.Core;
using Microsoft.Extensions.Time.Testing;
using TicketSaga.Testing;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class PeriodicPassTests
{
    private static CancellationToken Cancellation => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_pass_that_throws_anything_is_logged_and_the_next_one_runs_all_the_same()
    {
        var clock = new FakeTimeProvider();
        var log = new RecordingLogger<Pass>();
        using var pass = new Pass(clock, log, _ => throw new InvalidOperationException("not a database error"));

        await pass.StartAsync(Cancellation);
        await Eventually.HoldsAsync(() => Task.FromResult(pass.Runs == 1), "the start-up pass");
        clock.Advance(TimeSpan.FromSeconds(30));
        await Eventually.HoldsAsync(() => Task.FromResult(pass.Runs == 2), "the next pass");

        Assert.False(pass.ExecuteTask!.IsCompleted);
        Assert.Equal(2, log.Messages.Count(m => m.StartsWith("Pass failed; next pass in 00:00:30", StringComparison.Ordinal)));
        await pass.StopAsync(Cancellation);
    }

    [Fact]
    public async Task A_pass_cut_short_by_the_host_stopping_ends_quietly_whatever_the_cancelled_call_threw()
    {
        var log = new RecordingLogger<Pass>();
        var started = new TaskCompletionSource();
        using var pass = new Pass(TimeProvider.System, log, async cancellationToken =>
        {
            started.TrySetResult();
            // What a gRPC client call throws when its token is cancelled.
            await Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(
                _ => throw new RpcException(new Status(StatusCode.Cancelled, "Call canceled by the client.")), TaskScheduler.Default);
        });

        await pass.StartAsync(Cancellation);
        await started.Task.WaitAsync(Cancellation);
        await pass.StopAsync(Cancellation);

        Assert.True(pass.ExecuteTask!.IsCompletedSuccessfully);
        Assert.Empty(log.Messages);
    }

    [Fact]
    public async Task An_interval_of_zero_turns_the_pass_off_and_says_so()
    {
        var log = new RecordingLogger<Pass>();
        using var pass = new Pass(TimeProvider.System, log, _ => Task.CompletedTask, TimeSpan.Zero);

        await pass.StartAsync(Cancellation);
        await pass.ExecuteTask!;

        Assert.Equal(0, pass.Runs);
        Assert.Equal(["Pass is off: its interval is zero"], log.Messages);
    }

    public sealed class Pass(TimeProvider clock, RecordingLogger<Pass> logger, Func<CancellationToken, Task> run, TimeSpan? interval = null)
        : PeriodicPass(interval ?? TimeSpan.FromSeconds(30), clock, logger)
    {
        private int _runs;

        public int Runs => Volatile.Read(ref _runs);

        protected override Task RunPassAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _runs);
            return run(cancellationToken);
        }
    }
}
