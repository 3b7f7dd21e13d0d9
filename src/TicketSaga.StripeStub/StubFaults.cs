namespace TicketSaga.StripeStub;

/// <summary>
/// Test-mode trouble at "Stripe", switched on and off by a test: an outage answers every API call
/// 503 without doing anything; lost responses do the work (and keep its idempotent answer) but answer
/// 500, as when the network drops Stripe's answer, so the caller cannot know what happened; or only the
/// answers of one endpoint, for a failure between two calls of one payment.
/// </summary>
public sealed class StubFaults
{
    /// <summary>Creating a PaymentIntent, as <see cref="LosingResponsesOf"/> names it.</summary>
    public const string Create = "POST /v1/payment_intents";

    /// <summary>Confirming a PaymentIntent, as <see cref="LosingResponsesOf"/> names it.</summary>
    public const string Confirm = "POST /v1/payment_intents/{id}/confirm";

    private volatile bool _down;
    private volatile bool _losingResponses;
    private volatile string? _losingResponsesOf;

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

    /// <summary>The endpoint whose answers are lost, as routed (method and pattern, e.g. <see cref="Confirm"/>); null for none.</summary>
    public string? LosingResponsesOf
    {
        get => _losingResponsesOf;
        set => _losingResponsesOf = value;
    }
}
