using Npgsql;
using NpgsqlTypes;

namespace TicketSaga.VenueService;

public sealed record RowPlan(string Label, int Seats);

/// <summary>A section as laid out: rows best first.</summary>
public sealed record SectionPlan(string Name, IReadOnlyList<RowPlan> Rows);

public sealed record SeatPlanRecord(Guid PlanId, string EventId, string Name, IReadOnlyList<string> Sections, int Capacity);

/// <summary>A seat with its live status: AVAILABLE, HELD or SOLD.</summary>
public sealed record PlanSeat(Guid SeatId, string Section, string Row, int Number, string Label, string Status);

/// <summary>Seat plans as operators lay them out, and the live seat map.</summary>
public sealed class SeatPlanStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Creates the plan and its seats in one transaction. Creating the same plan again returns it;
    /// the same plan_id with another layout is AlreadyExists.
    /// </summary>
    public async Task<SeatPlanRecord> CreateSeatPlanAsync(
        Guid planId, string eventId, string name, IReadOnlyList<SectionPlan> sections, CancellationToken cancellationToken)
    {
        var requested = new SeatPlanRecord(planId, eventId, name, [.. sections.Select(s => s.Name)], sections.Sum(s => s.Rows.Sum(r => r.Seats)));

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        await using (var insertPlan = new NpgsqlCommand(
            """
            INSERT INTO seat_plans (plan_id, event_id, name, capacity) VALUES (@plan, @event, @name, @capacity)
            ON CONFLICT (plan_id) DO NOTHING
            """, connection, transaction))
        {
            insertPlan.Parameters.AddWithValue("plan", planId);
            insertPlan.Parameters.AddWithValue("event", eventId);
            insertPlan.Parameters.AddWithValue("name", name);
            insertPlan.Parameters.AddWithValue("capacity", requested.Capacity);
            if (await insertPlan.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                var existingLayout = await ReadLayoutAsync(connection, transaction, planId, cancellationToken);
                return existingLayout == Layout(eventId, name, sections)
                    ? requested
                    : throw VenueErrors.AlreadyExists($"seat plan {planId} already exists with a different event, name or layout");
            }
        }

        await using (var insertSections = new NpgsqlCommand(
            """
            INSERT INTO plan_sections (plan_id, name, position)
            SELECT @plan, name, position - 1 FROM unnest(@names) WITH ORDINALITY AS s(name, position)
            """, connection, transaction))
        {
            insertSections.Parameters.AddWithValue("plan", planId);
            insertSections.Parameters.AddWithValue("names", sections.Select(s => s.Name).ToArray());
            await insertSections.ExecuteNonQueryAsync(cancellationToken);
        }

        var seats = (
            from section in sections
            from row in section.Rows.Select((row, rank) => (row.Label, row.Seats, Rank: rank))
            from number in Enumerable.Range(1, row.Seats)
            select (Id: Guid.CreateVersion7(), Section: section.Name, Row: row.Label, row.Rank, Number: number,
                Label: $"{section.Name} {row.Label}-{number}")).ToList();
        await using (var insertSeats = new NpgsqlCommand(
            """
            INSERT INTO seats (seat_id, plan_id, section, row_label, row_rank, number, label)
            SELECT id, @plan, section, row_label, row_rank, number, label
            FROM unnest(@ids, @sections, @rows, @ranks, @numbers, @labels) AS s(id, section, row_label, row_rank, number, label)
            """, connection, transaction))
        {
            insertSeats.Parameters.AddWithValue("plan", planId);
            insertSeats.Parameters.AddWithValue("ids", seats.Select(s => s.Id).ToArray());
            insertSeats.Parameters.AddWithValue("sections", seats.Select(s => s.Section).ToArray());
            insertSeats.Parameters.AddWithValue("rows", seats.Select(s => s.Row).ToArray());
            insertSeats.Parameters.AddWithValue("ranks", seats.Select(s => s.Rank).ToArray());
            insertSeats.Parameters.AddWithValue("numbers", seats.Select(s => s.Number).ToArray());
            insertSeats.Parameters.AddWithValue("labels", seats.Select(s => s.Label).ToArray());
            await insertSeats.ExecuteNonQueryAsync(cancellationToken);
        }

        await transaction.CommitAsync(cancellationToken);
        return requested;
    }

    /// <summary>Every seat of the plan (or of one section) with its live status, read in one snapshot.</summary>
    public async Task<IReadOnlyList<PlanSeat>> GetSeatMapAsync(Guid planId, string? section, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var exists = new NpgsqlCommand(
            """
            SELECT EXISTS (SELECT 1 FROM seat_plans WHERE plan_id = @plan),
                   @section IS NULL OR EXISTS (SELECT 1 FROM plan_sections WHERE plan_id = @plan AND name = @section)
            """, connection))
        {
            exists.Parameters.AddWithValue("plan", planId);
            exists.Parameters.Add(new NpgsqlParameter("section", NpgsqlDbType.Text) { Value = (object?)section ?? DBNull.Value });
            await using var reader = await exists.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            if (!reader.GetBoolean(0))
            {
                throw VenueErrors.NotFound($"seat plan {planId} not found");
            }

            if (!reader.GetBoolean(1))
            {
                throw VenueErrors.NotFound($"section '{section}' not found in seat plan {planId}");
            }
        }

        var seats = new List<PlanSeat>();
        await using var read = new NpgsqlCommand(
            """
            SELECT s.seat_id, s.section, s.row_label, s.number, s.label, s.status
            FROM seats s JOIN plan_sections p ON p.plan_id = s.plan_id AND p.name = s.section
            WHERE s.plan_id = @plan AND (@section IS NULL OR s.section = @section)
            ORDER BY p.position, s.row_rank, s.number
            """, connection);
        read.Parameters.AddWithValue("plan", planId);
        read.Parameters.Add(new NpgsqlParameter("section", NpgsqlDbType.Text) { Value = (object?)section ?? DBNull.Value });
        await using var rows = await read.ExecuteReaderAsync(cancellationToken);
        while (await rows.ReadAsync(cancellationToken))
        {
            seats.Add(new PlanSeat(rows.GetGuid(0), rows.GetString(1), rows.GetString(2), rows.GetInt32(3), rows.GetString(4), rows.GetString(5)));
        }

        return seats;
    }

    private static string Layout(string eventId, string name, IEnumerable<SectionPlan> sections) =>
        string.Join('\n', sections.SelectMany(s => s.Rows.Select(r => $"{s.Name}\t{r.Label}\t{r.Seats}")).Prepend($"{eventId}\t{name}"));

    private static async Task<string> ReadLayoutAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, Guid planId, CancellationToken cancellationToken)
    {
        await using var read = new NpgsqlCommand(
            """
            SELECT pl.event_id, pl.name, s.section, s.row_label, count(*)::int
            FROM seat_plans pl
            JOIN plan_sections p ON p.plan_id = pl.plan_id
            JOIN seats s ON s.plan_id = p.plan_id AND s.section = p.name
            WHERE pl.plan_id = @plan
            GROUP BY pl.event_id, pl.name, p.position, s.section, s.row_rank, s.row_label
            ORDER BY p.position, s.row_rank
            """, connection, transaction);
        read.Parameters.AddWithValue("plan", planId);
        var lines = new List<string>();
        await using var reader = await read.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            if (lines.Count == 0)
            {
                lines.Add($"{reader.GetString(0)}\t{reader.GetString(1)}");
            }

            lines.Add($"{reader.GetString(2)}\t{reader.GetString(3)}\t{reader.GetInt32(4)}");
        }

        return string.Join('\n', lines);
    }
}
