namespace TicketSaga.StripeStub;

/// <summary>
/// Test-mode trouble at "Stripe", switched on and off by a test: an outage answers every API call
/// 503 without doing anything; lost responses do the work (and keep its idempotent answer) but answer
/// 500, as when the network drops Stripe's answer, so the caller cannot know what happened.
/// </summary>
public sealed class StubFaults
{
    private volatile bool _down;
    private volatile bool _losingResponses;

    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    public bool LosingResponses
    {
        get => _losingResponses;
        set => _losingResponses = value;
    }
}
