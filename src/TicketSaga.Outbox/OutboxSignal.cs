using TicketSaga.ServiceDefaults;

namespace TicketSaga.Outbox;

/// <summary>Wakes the relay right after a commit that wrote outbox rows.</summary>
public sealed class OutboxSignal : WakeUpSignal;
