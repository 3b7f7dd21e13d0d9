namespace TicketSaga.ServiceDefaults.Retention;

/// <summary>
/// Rows of <paramref name="Table"/> whose <paramref name="TimeColumn"/> is older than the rule's period
/// (<see cref="RetentionOptions.Periods"/>, else <paramref name="DefaultPeriod"/>) and that match
/// <paramref name="Condition"/> (SQL on the alias <c>t</c>) are deleted. Names and SQL come from code, never from input.
/// </summary>
public sealed record RetentionRule(string Name, string Table, string TimeColumn, TimeSpan DefaultPeriod, string? Condition = null);
