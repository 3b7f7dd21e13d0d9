using Grpc.Core;
using TicketSaga.TicketService.Reservations;

namespace TicketSaga.TicketService.Tests;

public sealed class GroupCommitBatcherTests
{
    /// <summary>Every batch waits at a gate until the service stops, as a transaction would on a dead database.</summary>
    private sealed class GatedBatcher : GroupCommitBatcher<int, int>
    {
        private int _taken;

        public int Taken => Volatile.Read(ref _taken);

        public Task<int> SendAsync(int request) => SubmitAsync(request, TestContext.Current.CancellationToken);

        protected override async Task DecideAsync(List<Pending> batch, CancellationToken stoppingToken)
        {
            Interlocked.Add(ref _taken, batch.Count);
            try
            {
                await Task.Delay(Timeout.Infinite, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                batch.ForEach(p => p.Answer.TrySetException(ShuttingDown));
            }
        }
    }

    [Fact]
    public async Task Requests_still_queued_when_the_service_stops_are_answered_unavailable_and_later_ones_are_refused()
    {
        using var batcher = new GatedBatcher();
        await batcher.StartAsync(TestContext.Current.CancellationToken);

        // Sent one by one until one stays queued: every worker is then busy at the gate.
        var sent = new List<Task<int>>();
        while (sent.Count < 64)
        {
            sent.Add(batcher.SendAsync(sent.Count));
            var deadline = DateTime.UtcNow.AddMilliseconds(500);
            while (batcher.Taken < sent.Count && DateTime.UtcNow < deadline)
            {
                await Task.Delay(10, TestContext.Current.CancellationToken);
            }

            if (batcher.Taken < sent.Count)
            {
                break;
            }
        }

        Assert.True(batcher.Taken < sent.Count, "every request was taken; none stayed queued");
        await batcher.StopAsync(TestContext.Current.CancellationToken);

        foreach (var request in sent)
        {
            var error = await Assert.ThrowsAsync<RpcException>(() => request);
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        }

        var late = await Assert.ThrowsAsync<RpcException>(() => batcher.SendAsync(-1));
        Assert.Equal((StatusCode.Unavailable, "The ticket service is shutting down."), (late.StatusCode, late.Status.Detail));
    }
}
