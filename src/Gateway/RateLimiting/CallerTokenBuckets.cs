using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace TicketSaga.Gateway.RateLimiting;

/// <summary>
/// One token bucket per caller, refilled when the caller next asks instead of by a timer. The
/// framework's partitioned limiter walks every caller's bucket ten times a second: in a rush of 10,000
/// buyers that walk was a tenth of the gateway's CPU. Buckets that have filled up again are forgotten,
/// at most once a replenishment period, by the request that finds the sweep due.
/// </summary>
public sealed class CallerTokenBuckets(RateLimitOptions limits, Func<HttpContext, string?> callerOf, TimeProvider clock)
    : PartitionedRateLimiter<HttpContext>
{
    private static readonly RateLimitLease Granted = new Lease(null);

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly double _tokensPerTick = limits.TokensPerPeriod / (limits.ReplenishmentPeriod.TotalSeconds * clock.TimestampFrequency);
    private readonly long _sweepEvery = (long)(limits.ReplenishmentPeriod.TotalSeconds * clock.TimestampFrequency);
    private long _sweptAt = clock.GetTimestamp();

    /// <summary>The callers with a bucket (one that is not full, or was not swept yet).</summary>
    public int Callers => _buckets.Count;

    public override RateLimiterStatistics? GetStatistics(HttpContext resource) => null;

    protected override RateLimitLease AttemptAcquireCore(HttpContext resource, int permitCount)
    {
        if (callerOf(resource) is not { } caller)
        {
            return Granted;
        }

        var now = clock.GetTimestamp();
        SweepIfDue(now);
        while (true)
        {
            var bucket = _buckets.GetOrAdd(caller, static (_, full) => new Bucket(full.Tokens, full.Now), (Tokens: (double)limits.TokenLimit, Now: now));
            lock (bucket)
            {
                if (bucket.Forgotten)
                {
                    continue;
                }

                bucket.Refill(now, _tokensPerTick, limits.TokenLimit);
                if (bucket.Tokens >= permitCount)
                {
                    bucket.Tokens -= permitCount;
                    return Granted;
                }

                var ticks = (permitCount - bucket.Tokens) / _tokensPerTick;
                return new Lease(TimeSpan.FromSeconds(ticks / clock.TimestampFrequency));
            }
        }
    }

    protected override ValueTask<RateLimitLease> AcquireAsyncCore(HttpContext resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    private void SweepIfDue(long now)
    {
        var sweptAt = Interlocked.Read(ref _sweptAt);
        if (now - sweptAt < _sweepEvery || Interlocked.CompareExchange(ref _sweptAt, now, sweptAt) != sweptAt)
        {
            return;
        }

        foreach (var (caller, bucket) in _buckets)
        {
            lock (bucket)
            {
                bucket.Refill(now, _tokensPerTick, limits.TokenLimit);
                if (bucket.Tokens >= limits.TokenLimit)
                {
                    // A full bucket is what a new caller gets: forgetting it changes nothing for them.
                    bucket.Forgotten = true;
                    _buckets.TryRemove(new KeyValuePair<string, Bucket>(caller, bucket));
                }
            }
        }
    }

    private sealed class Bucket(double tokens, long refilledAt)
    {
        public double Tokens = tokens;
        public bool Forgotten;
        private long _refilledAt = refilledAt;

        public void Refill(long now, double tokensPerTick, int limit)
        {
            if (now > _refilledAt)
            {
                Tokens = Math.Min(limit, Tokens + ((now - _refilledAt) * tokensPerTick));
                _refilledAt = now;
            }
        }
    }

    private sealed class Lease(TimeSpan? retryAfter) : RateLimitLease
    {
        public override bool IsAcquired => retryAfter is null;

        public override IEnumerable<string> MetadataNames => retryAfter is null ? [] : [MetadataName.RetryAfter.Name];

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            metadata = retryAfter;
            return retryAfter is not null && metadataName == MetadataName.RetryAfter.Name;
        }
    }
}
