using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using TicketSaga.Cli.Load;

namespace TicketSaga.Cli.Tests.Load;

/// <summary>Open-loop arrivals: sent on schedule whatever the answers, latency from the scheduled send.</summary>
public sealed class OpenLoopSchedulerTests
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Arrivals_leave_on_schedule_while_every_answer_takes_a_second()
    {
        var clock = Stopwatch.StartNew();
        var received = new ConcurrentBag<TimeSpan>();
        await using var server = await LocalHttpServer.StartAsync(async context =>
        {
            received.Add(clock.Elapsed);
            await Task.Delay(TimeSpan.FromSeconds(1), context.RequestAborted);
            context.Response.StatusCode = StatusCodes.Status201Created;
        });
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 100 }) { BaseAddress = server.Address };
        var scheduler = new OpenLoopScheduler(rate: 40, TimeSpan.FromSeconds(1), maxOutstanding: 1000);

        clock.Restart();
        var records = await scheduler.RunAsync(async (_, ct) =>
        {
            using var response = await http.PostAsync("orders", null, ct);
            return new BuyerAnswer(AnswerKind.Reserved, Stopwatch.GetTimestamp());
        }, Cancel);

        Assert.Equal(40, records.Length);
        Assert.All(records, r => Assert.Equal(AnswerKind.Reserved, r.Kind));
        // A closed loop would send the 40th request only after 39 one-second answers; here it left at 0.975 s.
        Assert.True(received.Max() < TimeSpan.FromSeconds(2), $"last request arrived at {received.Max()}");
        Assert.All(records, r => Assert.InRange(r.Latency, TimeSpan.FromSeconds(0.95), TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Latency_counts_from_the_scheduled_send_so_queueing_in_front_of_the_system_counts()
    {
        await using var server = await LocalHttpServer.StartAsync(async context =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), context.RequestAborted);
            context.Response.StatusCode = StatusCodes.Status201Created;
        });
        // One connection: the system answers one buyer at a time, 200 ms each.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1 }) { BaseAddress = server.Address };
        var scheduler = new OpenLoopScheduler(rate: 20, TimeSpan.FromSeconds(0.5), maxOutstanding: 1000);

        var records = await scheduler.RunAsync(async (_, ct) =>
        {
            using var response = await http.PostAsync("orders", null, ct);
            return new BuyerAnswer(AnswerKind.Reserved, Stopwatch.GetTimestamp());
        }, Cancel);

        var summary = OpenLoopSummary.Of(20, TimeSpan.FromSeconds(0.5), records);
        // The 10th buyer, due at 0.45 s, is answered after 10 × 200 ms: about 1.55 s after it was due,
        // though the system spent only 200 ms on it.
        Assert.Equal(10, summary.Answered);
        Assert.True(summary.Latency.MaxMs >= 1400, $"max {summary.Latency.MaxMs} ms");
        Assert.True(summary.Latency.P50Ms >= 600, $"p50 {summary.Latency.P50Ms} ms");
        Assert.False(summary.Sustains(100));
    }

    [Fact]
    public async Task Past_the_tools_in_flight_bound_an_arrival_is_counted_as_not_sent()
    {
        var stalled = new TaskCompletionSource<BuyerAnswer>(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduler = new OpenLoopScheduler(rate: 100, TimeSpan.FromSeconds(0.1), maxOutstanding: 2);

        var run = scheduler.RunAsync((_, _) => stalled.Task, Cancel);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Cancel);
        stalled.SetResult(new BuyerAnswer(AnswerKind.SoldOut, Stopwatch.GetTimestamp()));
        var records = await run;

        Assert.Equal(10, records.Length);
        Assert.Equal(2, records.Count(r => r.Kind == AnswerKind.SoldOut));
        Assert.Equal(8, records.Count(r => r.Kind == AnswerKind.NotSent));
        Assert.False(OpenLoopSummary.Of(100, TimeSpan.FromSeconds(0.1), records).Sustains(1000));
    }

    [Fact]
    public async Task An_arrival_that_throws_is_a_failure_without_an_answer()
    {
        var scheduler = new OpenLoopScheduler(rate: 50, TimeSpan.FromSeconds(0.1), maxOutstanding: 100);

        var records = await scheduler.RunAsync((i, _) => i == 2
            ? Task.FromException<BuyerAnswer>(new HttpRequestException("connection refused"))
            : Task.FromResult(new BuyerAnswer(AnswerKind.Reserved, Stopwatch.GetTimestamp())), Cancel);
        var summary = OpenLoopSummary.Of(50, TimeSpan.FromSeconds(0.1), records);

        Assert.Equal((5, 4, 1), (summary.Arrivals, summary.Answered, summary.Failed));
        Assert.Equal(1, summary.Errors["HttpRequestException"]);
    }

    [Fact]
    public void A_rate_at_which_anyone_was_queued_is_not_sustained_however_fast_the_answers()
    {
        ArrivalRecord Answer(int i, bool queued) => new(TimeSpan.FromMilliseconds(i * 10), TimeSpan.FromMilliseconds((i * 10) + 5), AnswerKind.Reserved, queued, queued ? TimeSpan.FromSeconds(2) : null, null);

        var everyoneServed = OpenLoopSummary.Of(100, TimeSpan.FromSeconds(1), [.. Enumerable.Range(0, 100).Select(i => Answer(i, false))]);
        var oneQueued = OpenLoopSummary.Of(100, TimeSpan.FromSeconds(1), [.. Enumerable.Range(0, 100).Select(i => Answer(i, i == 50))]);

        Assert.True(everyoneServed.Sustains(100));
        Assert.False(oneQueued.Sustains(100));
        Assert.Equal((1, 1L), (oneQueued.Queued, oneQueued.TimeToAdmission.Count));
        Assert.Equal(2000, oneQueued.TimeToAdmission.P50Ms, 2000 * 0.001);
    }
}
