using TicketSaga.Contracts;
using TicketSaga.Ticket.V1;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>A customer buys through the gateway: reserve, pay, and the saga sells what was held.</summary>
[Collection(nameof(SystemTests))]
public sealed class PurchaseTests(SystemUnderTest system)
{
    [Fact]
    public async Task General_admission_paid_by_card_is_confirmed_and_sold()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();

        var order = await customer.PlaceOrderAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 2 });
        var orderId = order.GetProperty("order_id").GetString()!;
        Assert.Equal(OrderStatuses.Pending, order.GetProperty("status").GetString());
        Assert.Equal(2 * seeded.GaPriceMinor, order.GetProperty("amount").GetInt64());
        Assert.Equal(18, (await CatalogView.ReadAsync(anonymous, seeded)).Available(seeded.GeneralAdmissionTicketId));

        var payment = await customer.PayAsync(orderId, "pm_card_visa");
        Assert.Equal(2 * seeded.GaPriceMinor, payment.GetProperty("amount_minor").GetInt64());

        await customer.WaitForStatusAsync(orderId, OrderStatuses.Confirmed);
        Assert.Equal("SUCCEEDED", (await customer.PaymentAsync(orderId)).GetProperty("status").GetString());
        var ticket = await system.TicketClient.GetTicketTypeAsync(new GetTicketTypeRequest { TicketId = seeded.GeneralAdmissionTicketId });
        Assert.Equal(2, ticket.Availability.Sold);
        Assert.Equal(18, (await CatalogView.ReadAsync(anonymous, seeded)).Available(seeded.GeneralAdmissionTicketId));
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task Named_seats_paid_by_card_are_sold_on_the_seat_map()
    {
        var seeded = await system.SeedEventAsync();
        using var anonymous = system.Client();
        using var customer = system.NewCustomer();
        var seats = (await CatalogView.ReadAsync(anonymous, seeded)).SeatsWith("available").Take(2).ToArray();

        var order = await customer.PlaceOrderAsync(new { ticket_id = seeded.SeatedTicketId, qty = 2, seat_ids = seats });
        var orderId = order.GetProperty("order_id").GetString()!;
        Assert.Equal(seats.Order(), order.GetProperty("seats").EnumerateArray().Select(s => s.GetProperty("seat_id").GetString()!).Order());
        Assert.Equal(seats.Order(), (await CatalogView.ReadAsync(anonymous, seeded)).SeatsWith("held"));

        await customer.PayAsync(orderId, "pm_card_visa");

        await customer.WaitForStatusAsync(orderId, OrderStatuses.Confirmed);
        var catalog = await CatalogView.ReadAsync(anonymous, seeded);
        Assert.Equal(seats.Order(), catalog.SeatsWith("sold"));
        Assert.Empty(catalog.SeatsWith("held"));
        Assert.Equal(6, catalog.Available(seeded.SeatedTicketId));
        await Invariants.HoldAsync(system);
    }

    [Fact]
    public async Task Concurrent_buyers_never_oversell_tickets_or_seats()
    {
        var seeded = await system.SeedEventAsync(generalAdmission: 5);
        var customers = Enumerable.Range(0, 12).Select(_ => system.NewCustomer()).ToList();
        try
        {
            // Twelve buyers race for 5 general-admission tickets and, one seat each, for the 8 seats.
            var racing = customers.SelectMany(c => new[]
            {
                c.PlaceAsync(new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 }),
                c.PlaceAsync(new { ticket_id = seeded.SeatedTicketId, qty = 1, section = "Floor" }),
            }).ToList();
            var sampled = new List<string>();
            while (!racing.All(t => t.IsCompleted))
            {
                sampled.AddRange(await Invariants.ConservationViolationsAsync(system));
            }

            Assert.Empty(sampled);
            var placed = new List<(Customer Customer, string OrderId)>();
            foreach (var (response, i) in (await Task.WhenAll(racing)).Select((r, i) => (r, i)))
            {
                using (response)
                {
                    if (response.StatusCode == System.Net.HttpStatusCode.Created)
                    {
                        placed.Add((customers[i / 2], (await Expect.StatusAsync(response, response.StatusCode)).GetProperty("order_id").GetString()!));
                    }
                    else
                    {
                        await Expect.ProblemAsync(response, System.Net.HttpStatusCode.Conflict, "sold-out");
                    }
                }
            }

            Assert.Equal(5 + 8, placed.Count);
            await Task.WhenAll(placed.Select(p => p.Customer.PayAsync(p.OrderId, "pm_card_visa")));
            foreach (var (customer, orderId) in placed)
            {
                await customer.WaitForStatusAsync(orderId, OrderStatuses.Confirmed);
            }

            using var anonymous = system.Client();
            var catalog = await CatalogView.ReadAsync(anonymous, seeded);
            Assert.Equal(0, catalog.Available(seeded.GeneralAdmissionTicketId));
            Assert.Equal(8, catalog.SeatsWith("sold").Count);
            await Invariants.HoldAsync(system);
        }
        finally
        {
            customers.ForEach(c => c.Dispose());
        }
    }
}
