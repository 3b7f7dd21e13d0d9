namespace TicketSaga.ServiceDefaults;

/// <summary>PostgreSQL's timestamptz keeps microseconds, .NET keeps 100 ns ticks.</summary>
public static class PostgresTime
{
    /// <summary>The time as PostgreSQL stores it, in UTC: a retry then compares equal to what was stored.</summary>
    public static DateTimeOffset TruncateToMicroseconds(DateTimeOffset time) =>
        new(time.UtcTicks - time.UtcTicks % TimeSpan.TicksPerMicrosecond, TimeSpan.Zero);
}
