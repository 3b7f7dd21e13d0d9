extern alias GatewayApp;

using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using GatewayApp::TicketSaga.Gateway.Admission;

namespace TicketSaga.Gateway.Tests;

/// <summary>When a queued buyer is told to come back: their turn's estimate, but never later than WaitingRoom:MaxRetryAfter.</summary>
public sealed class WaitingRoomRetryAfterTests
{
    private const string EventId = "flash-sale";

    [Fact]
    public void A_buyer_near_the_front_comes_back_when_their_turn_is_due()
    {
        var queued = QueueBehindTheFirst(buyers: 4, admissionsPerSecond: 1, maxRetryAfter: TimeSpan.FromSeconds(10));

        Assert.Equal([1, 2, 3], queued.Select(q => q.Position));
        Assert.Equal([1, 2, 3], queued.Select(q => q.RetryAfter.TotalSeconds));
    }

    [Theory]
    [InlineData(10)]
    [InlineData(30)]
    public void A_buyer_far_back_comes_back_after_MaxRetryAfter_however_long_their_turn_takes(int maxSeconds)
    {
        var queued = QueueBehindTheFirst(buyers: 100, admissionsPerSecond: 1, maxRetryAfter: TimeSpan.FromSeconds(maxSeconds));

        Assert.Equal(99, queued[^1].Position);
        Assert.Equal(TimeSpan.FromSeconds(maxSeconds), queued[^1].RetryAfter);
        Assert.Equal(TimeSpan.FromSeconds(maxSeconds - 1), queued[maxSeconds - 2].RetryAfter);
    }

    /// <summary>A fixed-rate room: the first buyer goes straight in, the others queue in arrival order.</summary>
    private static List<Admission.Queued> QueueBehindTheFirst(int buyers, double admissionsPerSecond, TimeSpan maxRetryAfter)
    {
        var options = Options.Create(new WaitingRoomOptions
        {
            Mode = WaitingRoomMode.Fixed,
            AdmissionsPerSecond = admissionsPerSecond,
            MaxRetryAfter = maxRetryAfter,
        });
        var room = new WaitingRoom(options, new QueueTokens(options), new FakeTimeProvider());

        Assert.IsType<Admission.Admitted>(room.Enter(EventId, "buyer-0", token: null, ordersInFlightFull: false));
        return [.. Enumerable.Range(1, buyers - 1).Select(buyer => Assert.IsType<Admission.Queued>(
            room.Enter(EventId, $"buyer-{buyer}", token: null, ordersInFlightFull: false)))];
    }
}
