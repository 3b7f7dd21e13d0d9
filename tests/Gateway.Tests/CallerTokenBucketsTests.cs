extern alias GatewayApp;

using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using GatewayApp::TicketSaga.Gateway.RateLimiting;

namespace TicketSaga.Gateway.Tests;

public sealed class CallerTokenBucketsTests
{
    private static readonly RateLimitOptions Limits = new() { TokenLimit = 3, TokensPerPeriod = 6, ReplenishmentPeriod = TimeSpan.FromMinutes(1) };

    private readonly ManualClock _clock = new();

    [Fact]
    public void A_caller_gets_the_burst_then_is_told_when_the_next_token_comes_while_others_are_unaffected()
    {
        using var buckets = Buckets();

        Assert.All(Enumerable.Range(0, 3), _ => Assert.True(Acquire(buckets, "alice").IsAcquired));
        using var refused = Acquire(buckets, "alice");

        Assert.False(refused.IsAcquired);
        Assert.True(refused.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter));
        Assert.Equal(10, Math.Round(retryAfter.TotalSeconds, 3));
        Assert.True(Acquire(buckets, "bob").IsAcquired);
    }

    [Theory]
    [InlineData("203.0.113.7", "ip:203.0.113.7")]
    [InlineData("::ffff:203.0.113.7", "ip:203.0.113.7")]
    [InlineData("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "ip:2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:2::1", "ip:2001:db8:1:2::/64")]
    [InlineData("2001:db8:1:3::1", "ip:2001:db8:1:3::/64")]
    public void An_anonymous_caller_is_counted_by_its_ipv4_address_or_its_ipv6_slash_64(string address, string key) =>
        Assert.Equal(key, UserRateLimiting.AnonymousKey(System.Net.IPAddress.Parse(address)));

    [Fact]
    public void Tokens_come_back_at_the_configured_rate_up_to_the_burst()
    {
        using var buckets = Buckets();
        Assert.All(Enumerable.Range(0, 3), _ => Assert.True(Acquire(buckets, "alice").IsAcquired));

        _clock.Advance(TimeSpan.FromSeconds(9.9));
        Assert.False(Acquire(buckets, "alice").IsAcquired);
        _clock.Advance(TimeSpan.FromSeconds(0.2));
        Assert.True(Acquire(buckets, "alice").IsAcquired);
        Assert.False(Acquire(buckets, "alice").IsAcquired);

        _clock.Advance(TimeSpan.FromHours(1));
        Assert.Equal(3, Enumerable.Range(0, 5).Count(_ => Acquire(buckets, "alice").IsAcquired));
    }

    [Fact]
    public void Requests_of_no_caller_are_never_limited()
    {
        using var buckets = Buckets();

        Assert.All(Enumerable.Range(0, 10), _ => Assert.True(Acquire(buckets, caller: null).IsAcquired));
        Assert.Equal(0, buckets.Callers);
    }

    [Fact]
    public void Full_buckets_are_forgotten_once_a_period_and_a_throttled_callers_bucket_is_kept()
    {
        // One token back a minute.
        using var buckets = new CallerTokenBuckets(new RateLimitOptions { TokenLimit = 3, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromMinutes(1) },
            context => context.Items["caller"] as string, _clock);
        Assert.All(Enumerable.Range(0, 3), _ => Assert.True(Acquire(buckets, "throttled").IsAcquired));
        Assert.True(Acquire(buckets, "once").IsAcquired);

        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.True(Acquire(buckets, "sweeper").IsAcquired);

        // "once" is full again and forgotten; "throttled" has one token back, not a fresh bucket.
        Assert.Equal(2, buckets.Callers);
        Assert.Equal(1, Enumerable.Range(0, 5).Count(_ => Acquire(buckets, "throttled").IsAcquired));
        Assert.Equal(3, Enumerable.Range(0, 5).Count(_ => Acquire(buckets, "once").IsAcquired));
    }

    [Fact]
    public async Task Callers_racing_for_one_bucket_get_exactly_its_tokens()
    {
        using var buckets = new CallerTokenBuckets(new RateLimitOptions { TokenLimit = 500, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromDays(1) },
            context => context.Items["caller"] as string, _clock);
        using var start = new Barrier(8);

        var granted = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
        {
            start.SignalAndWait(TestContext.Current.CancellationToken);
            return Enumerable.Range(0, 200).Count(_ => Acquire(buckets, "rush").IsAcquired);
        })));

        Assert.Equal(500, granted.Sum());
    }

    private CallerTokenBuckets Buckets() => new(Limits, context => context.Items["caller"] as string, _clock);

    private static RateLimitLease Acquire(CallerTokenBuckets buckets, string? caller)
    {
        var context = new DefaultHttpContext();
        context.Items["caller"] = caller;
        return buckets.AttemptAcquire(context);
    }

    private sealed class ManualClock : TimeProvider
    {
        private long _now = 1_000_000;

        public override long TimestampFrequency => 1_000_000;

        public override long GetTimestamp() => Interlocked.Read(ref _now);

        public void Advance(TimeSpan by) => Interlocked.Add(ref _now, (long)(by.TotalSeconds * TimestampFrequency));
    }
}
