using Npgsql;

namespace TicketSaga.Runtime.Postgres;

/// <summary>Clean-up of a database a test or a bench made for itself.</summary>
public static class PostgresDatabase
{
    /// <summary>
    /// Drops <paramref name="database"/> through <paramref name="maintenance"/>, an open connection to another
    /// database of the same server. FORCE, because a process that was started on it may still hold a
    /// connection; no command timeout, because the drop waits for a checkpoint, which on a busy machine
    /// outlasts Npgsql's 30 s.
    /// </summary>
    public static async Task DropAsync(NpgsqlConnection maintenance, string database, CancellationToken cancellationToken = default)
    {
        await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\" WITH (FORCE)", maintenance) { CommandTimeout = 0 };
        await drop.ExecuteNonQueryAsync(cancellationToken);
    }
}
