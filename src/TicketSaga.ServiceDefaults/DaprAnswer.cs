namespace TicketSaga.ServiceDefaults;

/// <summary>
/// A subscriber's answer to its sidecar (Dapr's app response, <c>{"status": ...}</c>). One policy in
/// every service:
/// <list type="bullet">
/// <item><c>SUCCESS</c>: handled, or a redelivery the inbox has already seen.</item>
/// <item>An error status (an exception answers 500, which Dapr treats like <c>RETRY</c>): a transient
/// failure; redelivered with the back-off of components/resiliency.yaml, then dead-lettered.</item>
/// <item><c>DROP</c> with a <see cref="Reason"/>: the message can never apply (malformed, or about an
/// order this service does not know). Retrying cannot fix it, so it is dead-lettered at once: the
/// subscription's <c>&lt;topic&gt;.dlq</c> and the runtime's dead-letter record, which keeps the reason.</item>
/// </list>
/// </summary>
/// <param name="Reason">Why a message was dropped; Dapr ignores it, the embedded runtime records it.</param>
public sealed record DaprAnswer(string Status, string? Reason = null)
{
    public static DaprAnswer Success { get; } = new("SUCCESS");

    public static DaprAnswer Drop(string reason) => new("DROP", reason);
}
