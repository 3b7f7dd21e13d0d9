using System.Net;
using System.Text.Json;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>What anyone sees in the public catalog (GET /events, GET /events/{id}/seats) through the gateway.</summary>
public sealed record CatalogView(IReadOnlyDictionary<string, int> AvailableByTicket, IReadOnlyDictionary<string, string> SeatStatusById)
{
    public static async Task<CatalogView> ReadAsync(HttpClient anonymous, SeededEvent seeded)
    {
        using var events = await anonymous.GetAsync("/events");
        var list = await Expect.StatusAsync(events, HttpStatusCode.OK);
        var ours = list.GetProperty("events").EnumerateArray().Single(e => e.GetProperty("event_id").GetString() == seeded.EventId);
        var available = ours.GetProperty("ticket_types").EnumerateArray()
            .ToDictionary(t => t.GetProperty("ticket_id").GetString()!, t => t.GetProperty("available").GetInt32());

        using var seats = await anonymous.GetAsync($"/events/{seeded.EventId}/seats");
        var map = await Expect.StatusAsync(seats, HttpStatusCode.OK);
        var statuses = map.GetProperty("seats").EnumerateArray()
            .ToDictionary(s => s.GetProperty("seat_id").GetString()!, s => s.GetProperty("status").GetString()!);
        return new CatalogView(available, statuses);
    }

    public int Available(string ticketId) => AvailableByTicket[ticketId];

    public IReadOnlyList<string> SeatsWith(string status) => [.. SeatStatusById.Where(s => s.Value == status).Select(s => s.Key).Order()];

    /// <summary>Equal views: the same availability and the same seat map (records compare dictionaries by reference).</summary>
    public bool SameAs(CatalogView other) =>
        AvailableByTicket.OrderBy(p => p.Key).SequenceEqual(other.AvailableByTicket.OrderBy(p => p.Key))
        && SeatStatusById.OrderBy(p => p.Key).SequenceEqual(other.SeatStatusById.OrderBy(p => p.Key));

    public override string ToString() =>
        string.Join(", ", AvailableByTicket.Select(p => $"{p.Key}: {p.Value} available")) + "; seats "
        + string.Join(", ", SeatStatusById.GroupBy(s => s.Value).Select(g => $"{g.Count()} {g.Key}"));
}
