using Stripe;
using TicketSaga.StripeStub;

namespace TicketSaga.PaymentService.Tests;

/// <summary>The stub with a journal comes back after a crash with every answer it gave.</summary>
public sealed class StripeStubJournalTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("stub-journal-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_stub_killed_after_answering_comes_back_with_its_payments_refunds_events_and_idempotent_answers()
    {
        var journal = Path.Combine(_folder, "live.jsonl");
        var options = new StripeStubOptions
        {
            Port = 0, ApiKey = StripeStubOptions.NewApiKey(), WebhookSecret = StripeStubOptions.NewWebhookSecret(), JournalPath = journal,
        };
        var orderId = Guid.NewGuid().ToString();
        var create = new PaymentIntentCreateOptions
        {
            Amount = 4200, Currency = "eur", PaymentMethod = "pm_card_visa", Confirm = true,
            Metadata = new Dictionary<string, string> { ["order_id"] = orderId },
        };
        var key = new RequestOptions { IdempotencyKey = $"{orderId}:1" };
        string paid;
        string refund;
        var crashed = Path.Combine(_folder, "crashed.jsonl");
        await using (var first = await StripeStubServer.StartAsync(options))
        {
            var client = new StripeClient(options.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), maxNetworkRetries: 0), apiBase: first.ApiBase);
            paid = (await client.V1.PaymentIntents.CreateAsync(create, key)).Id;
            refund = (await client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = paid, Amount = 1200 })).Id;
            // What a SIGKILL leaves: the file as it is while the stub runs, nothing written at stop.
            System.IO.File.Copy(journal, crashed);
        }

        await using var restarted = await StripeStubServer.StartAsync(options with { JournalPath = crashed });
        var again = new StripeClient(options.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), maxNetworkRetries: 0), apiBase: restarted.ApiBase);

        var intent = await again.V1.PaymentIntents.GetAsync(paid);
        Assert.Equal(("succeeded", 4200L, orderId), (intent.Status, intent.AmountReceived, intent.Metadata["order_id"]));
        Assert.Equal([(refund, paid, 1200L)], restarted.Ledger.Refunds.Select(r => (r.Id, r.PaymentIntent, r.Amount)));
        Assert.Equal(1200, Assert.Single(StubJournal.PaymentIntentsIn(crashed)).AmountRefunded);
        Assert.Contains(restarted.Events.Events, e => e.Type == "payment_intent.succeeded");

        // The retry of a create whose answer was lost in the crash buys nothing twice.
        Assert.Equal(paid, (await again.V1.PaymentIntents.CreateAsync(create, key)).Id);
        Assert.Single(restarted.Ledger.PaymentIntents);

        // The rest of the charge can still be refunded, and no more.
        await again.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = paid });
        var tooMuch = await Assert.ThrowsAsync<StripeException>(() => again.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = paid }));
        Assert.Equal("charge_already_refunded", tooMuch.StripeError.Code);
    }

    [Fact]
    public async Task A_restarted_stub_replays_only_the_idempotent_answers_younger_than_the_retention()
    {
        var options = new StripeStubOptions
        {
            Port = 0, ApiKey = StripeStubOptions.NewApiKey(), WebhookSecret = StripeStubOptions.NewWebhookSecret(), JournalPath = Path.Combine(_folder, "keys.jsonl"),
        };
        var create = new PaymentIntentCreateOptions { Amount = 4200, Currency = "eur", PaymentMethod = "pm_card_visa", Confirm = true };
        var key = new RequestOptions { IdempotencyKey = Guid.NewGuid().ToString() };
        string first;
        await using (var stub = await StripeStubServer.StartAsync(options))
        {
            first = (await Client(stub).V1.PaymentIntents.CreateAsync(create, key)).Id;
        }

        await using (var soon = await StripeStubServer.StartAsync(options with { IdempotencyKeyRetention = TimeSpan.FromMinutes(1) }))
        {
            Assert.Equal(first, (await Client(soon).V1.PaymentIntents.CreateAsync(create, key)).Id);
        }

        // The journal keeps whole seconds.
        await Task.Delay(TimeSpan.FromSeconds(2.1));
        await using var late = await StripeStubServer.StartAsync(options with { IdempotencyKeyRetention = TimeSpan.FromSeconds(1) });
        Assert.NotEqual(first, (await Client(late).V1.PaymentIntents.CreateAsync(create, key)).Id);
    }

    private static StripeClient Client(StripeStubServer stub) =>
        new(stub.Options.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), maxNetworkRetries: 0), apiBase: stub.ApiBase);
}
