using System.Diagnostics;
using System.Net;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>
/// A rush on a small quota while its unpaid holds expire: the sold-out fast path never keeps a released
/// ticket from a buyer. A system of its own: the rush's many expiries stay out of the other tests' invariants.
/// </summary>
[CollectionDefinition(nameof(FlashSaleTests))]
public sealed class FlashSaleSystemTests : ICollectionFixture<ShortHoldSystem>;

[Collection(nameof(FlashSaleTests))]
public sealed class FlashSaleTests(ShortHoldSystem system)
{
    private const int Capacity = 3;
    private const int Buyers = 9;

    [Fact]
    public async Task Buyers_rushing_a_sold_out_ticket_get_every_hold_that_expires()
    {
        var seeded = await system.SeedEventAsync(generalAdmission: Capacity);
        var order = new { ticket_id = seeded.GeneralAdmissionTicketId, qty = 1 };
        var soldOutAnswers = 0;
        var clock = Stopwatch.StartNew();
        // Three waves at least: each wave's holds are left unpaid and expire (8 s hold, 1 s settle window).
        var deadline = TimeSpan.FromSeconds(90);

        var held = await Task.WhenAll(Enumerable.Range(0, Buyers).Select(async _ =>
        {
            using var buyer = system.NewCustomer();
            while (clock.Elapsed < deadline)
            {
                using var response = await buyer.PlaceAsync(order);
                if (response.StatusCode == HttpStatusCode.Created)
                {
                    return true;
                }

                await Expect.ProblemAsync(response, HttpStatusCode.Conflict, "sold-out");
                Interlocked.Increment(ref soldOutAnswers);
                await Task.Delay(TimeSpan.FromMilliseconds(100));
            }

            return false;
        }));

        Assert.True(held.All(h => h), $"{held.Count(h => h)} of {Buyers} buyers got a hold in {deadline.TotalSeconds} s ({soldOutAnswers} sold-out answers)");
        Assert.True(soldOutAnswers > 0, "the rush met a sold-out ticket");
        await Invariants.HoldAsync(system);
    }
}
