namespace TicketSaga.Runtime.Components;

public enum RetryKind
{
    Constant,
    Exponential,
}

/// <summary>
/// A resiliency retry policy. Exponential back-off starts at <see cref="Interval"/> and grows by
/// <see cref="Multiplier"/> (Dapr's default 1.5) up to <see cref="MaxInterval"/>, without Dapr's random
/// jitter so that delays always grow. <see cref="MaxRetries"/> -1 retries forever.
/// </summary>
public sealed record RetryPolicy(string Name, RetryKind Kind, TimeSpan Interval, TimeSpan MaxInterval, int MaxRetries, double Multiplier = RetryPolicy.DefaultMultiplier)
{
    /// <summary>dapr/kit's default growth of an exponential back-off.</summary>
    public const double DefaultMultiplier = 1.5;

    /// <summary>Our components' default: exponential, 500 ms initial, 3 retries (4 attempts).</summary>
    public static RetryPolicy Default { get; } = new("default", RetryKind.Exponential, TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(60), 3);

    /// <summary>Whether another attempt may follow <paramref name="attemptsMade"/> failed attempts.</summary>
    public bool AllowsRetryAfter(int attemptsMade) => MaxRetries < 0 || attemptsMade <= MaxRetries;

    /// <summary>The wait before retry number <paramref name="retry"/> (1 = the first retry).</summary>
    public TimeSpan DelayBeforeRetry(int retry)
    {
        if (Kind == RetryKind.Constant)
        {
            return Interval;
        }

        var milliseconds = Interval.TotalMilliseconds * Math.Pow(Multiplier, Math.Max(0, retry - 1));
        return TimeSpan.FromMilliseconds(Math.Min(milliseconds, MaxInterval.TotalMilliseconds));
    }
}

/// <summary>What resiliency applies to one direction of one component or to one app.</summary>
public sealed record ResiliencyTarget(RetryPolicy? Retry, TimeSpan? Timeout, string? CircuitBreaker);
