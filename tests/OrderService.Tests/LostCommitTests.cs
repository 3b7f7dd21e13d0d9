using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.Testing;

namespace TicketSaga.OrderService.Tests;

/// <summary>The system with order-service's database behind a <see cref="CommitCuttingRelay"/>.</summary>
public sealed class LostCommitSystem(PostgresServer postgres) : SagaSystem(postgres)
{
    private CommitCuttingRelay? _relay;

    public CommitCuttingRelay CommitCutter => _relay!;

    protected override string OrderServiceConnection(string ordersDatabase)
    {
        var through = new NpgsqlConnectionStringBuilder(ordersDatabase);
        _relay = new CommitCuttingRelay(through.Port);
        (through.Host, through.Port) = ("127.0.0.1", _relay.Port);
        return through.ConnectionString;
    }

    protected override async ValueTask DisposeAsyncCore()
    {
        await base.DisposeAsyncCore();
        if (_relay is not null)
        {
            await _relay.DisposeAsync();
        }
    }
}

public sealed class LostCommitTests(LostCommitSystem system) : IClassFixture<LostCommitSystem>
{
    [Fact]
    public async Task An_order_whose_commit_was_stored_but_not_answered_stands_with_its_holds()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer("user-" + Guid.NewGuid().ToString("N")[..8]);
        system.CommitCutter.Arm("INSERT INTO orders (");

        using var response = await customer.PostAsJsonAsync("/orders", new { ticket_id = ticket.TicketId, qty = 2 }, TestContext.Current.CancellationToken);

        Assert.True(system.CommitCutter.Cut, "the order's commit went through unanswered");
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var orderId = Guid.Parse((await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("order_id").GetString()!);
        Assert.Equal(OrderStatuses.Pending, (await system.OrderStore.GetAsync(orderId, default))!.Status);
        var availability = await system.AvailabilityAsync(ticket);
        Assert.Equal((8, 2, 0), (availability.Available, availability.Held, availability.Sold));
    }
}
