namespace TicketSaga.Runtime.Runner;

/// <summary>
/// How a crashed app comes back, as Kubernetes' restart policy does it: after an exponential
/// back-off (1 s, 2 s, 4 s ... up to <see cref="MaxDelay"/>) that starts over once the app has been
/// healthy for <see cref="ResetAfter"/>, so that a crash loop does not spin and a rare crash is not
/// punished for old ones.
/// </summary>
public sealed record AppRestartPolicy(TimeSpan FirstDelay, TimeSpan MaxDelay, TimeSpan ResetAfter)
{
    public static readonly AppRestartPolicy Default = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));

    /// <summary>The wait before the <paramref name="attempt"/>-th restart in a row (1-based).</summary>
    public TimeSpan DelayBefore(int attempt)
    {
        var delay = FirstDelay;
        for (var i = 1; i < attempt && delay < MaxDelay; i++)
        {
            delay *= 2;
        }

        return delay < MaxDelay ? delay : MaxDelay;
    }
}
