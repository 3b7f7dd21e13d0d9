using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Stripe;
using TicketSaga.Runtime.Hosting;
using TicketSaga.StripeStub;

namespace TicketSaga.PaymentService.Tests;

/// <summary>The stub as Stripe.net 53.1.0 sees it: real client calls, real error and event parsing.</summary>
public sealed class StripeStubContractTests(StubServer stub) : IClassFixture<StubServer>
{
    private PaymentIntentService Intents => stub.Client.V1.PaymentIntents;

    private static PaymentIntentCreateOptions Charge(string paymentMethod, long amount = 4200, string? returnUrl = null) => new()
    {
        Amount = amount,
        Currency = "eur",
        PaymentMethod = paymentMethod,
        Confirm = true,
        ReturnUrl = returnUrl,
        Metadata = new Dictionary<string, string> { ["order_id"] = Guid.NewGuid().ToString() },
    };

    private static RequestOptions Key(string? key = null) => new() { IdempotencyKey = key ?? Guid.NewGuid().ToString() };

    [Fact]
    public async Task An_outage_changes_nothing_and_a_lost_answer_is_replayed_once_the_network_is_back()
    {
        var charge = Charge("pm_card_visa", 1500);
        var key = Key();
        var ofThisOrder = () => stub.Server.Ledger.PaymentIntents.Where(i => i.Metadata.GetValueOrDefault("order_id") == charge.Metadata["order_id"]).ToList();

        stub.Server.Faults.Down = true;
        var outage = await Assert.ThrowsAsync<StripeException>(() => Intents.CreateAsync(charge, key));
        stub.Server.Faults.Down = false;
        Assert.Equal((HttpStatusCode.ServiceUnavailable, "api_error"), (outage.HttpStatusCode, outage.StripeError.Type));
        Assert.Empty(ofThisOrder());

        stub.Server.Faults.LosingResponses = true;
        var lost = await Assert.ThrowsAsync<StripeException>(() => Intents.CreateAsync(charge, key));
        stub.Server.Faults.LosingResponses = false;
        Assert.Equal(HttpStatusCode.InternalServerError, lost.HttpStatusCode);
        var taken = Assert.Single(ofThisOrder());
        Assert.Equal("succeeded", taken.Status);

        var replayed = await Intents.CreateAsync(charge, key);
        Assert.Equal(taken.Id, replayed.Id);
        Assert.Single(ofThisOrder());
    }

    [Fact]
    public async Task An_intent_created_unconfirmed_takes_nothing_until_its_confirm_whose_answer_alone_can_be_lost()
    {
        var created = await Intents.CreateAsync(new PaymentIntentCreateOptions
        {
            Amount = 3100,
            Currency = "eur",
            AutomaticPaymentMethods = new PaymentIntentAutomaticPaymentMethodsOptions { Enabled = true, AllowRedirects = "always" },
        }, Key());
        Assert.Equal(("requires_payment_method", 0L), (created.Status, created.AmountReceived));

        var confirm = new PaymentIntentConfirmOptions { PaymentMethod = "pm_card_visa", ReturnUrl = "https://shop.example/return" };
        var key = Key();
        stub.Server.Faults.LosingResponsesOf = StubFaults.Confirm;
        try
        {
            Assert.Equal(created.Id, (await Intents.GetAsync(created.Id)).Id);
            var lost = await Assert.ThrowsAsync<StripeException>(() => Intents.ConfirmAsync(created.Id, confirm, key));
            Assert.Equal(HttpStatusCode.InternalServerError, lost.HttpStatusCode);
        }
        finally
        {
            stub.Server.Faults.LosingResponsesOf = null;
        }

        Assert.Equal("succeeded", Assert.Single(stub.Server.Ledger.PaymentIntents, i => i.Id == created.Id).Status);
        var replayed = await Intents.ConfirmAsync(created.Id, confirm, key);
        Assert.Equal(("succeeded", 3100L), (replayed.Status, replayed.AmountReceived));
    }

    [Fact]
    public async Task A_return_url_at_creation_is_refused_unless_the_intent_is_confirmed_in_the_same_call()
    {
        var refused = await Assert.ThrowsAsync<StripeException>(() => Intents.CreateAsync(
            new PaymentIntentCreateOptions { Amount = 3100, Currency = "eur", ReturnUrl = "https://shop.example/return" }, Key()));

        Assert.Equal((HttpStatusCode.BadRequest, "invalid_request_error", "return_url"), (refused.HttpStatusCode, refused.StripeError.Type, refused.StripeError.Param));
    }

    [Fact]
    public async Task A_refund_from_the_dashboard_is_announced_as_refund_created_and_charge_refunded()
    {
        var intent = await Intents.CreateAsync(Charge("pm_card_visa", 2700), Key());

        await StubServer.RefundFromDashboardAsync(stub.Server, intent.Id);

        var refund = Assert.Single(stub.Server.Ledger.Refunds, r => r.PaymentIntent == intent.Id);
        var created = EventUtility.ParseEvent(stub.Server.Events.Events.Single(e => e.Type == "refund.created" && e.Json.Contains(intent.Id, StringComparison.Ordinal)).Json);
        var announced = Assert.IsType<Refund>(created.Data.Object);
        Assert.Equal((refund.Id, 2700L, "succeeded"), (announced.Id, announced.Amount, announced.Status));
        var refunded = EventUtility.ParseEvent(stub.Server.Events.Events.Single(e => e.Type == "charge.refunded" && e.Json.Contains(intent.Id, StringComparison.Ordinal)).Json);
        var charge = Assert.IsType<Charge>(refunded.Data.Object);
        Assert.True(charge.Refunded);
        Assert.Equal(refund.Id, Assert.Single(charge.Refunds.Data).Id);
    }

    [Fact]
    public async Task A_visa_payment_intent_created_and_confirmed_in_one_call_succeeds()
    {
        var intent = await Intents.CreateAsync(Charge("pm_card_visa", 4200), Key());

        Assert.Equal("succeeded", intent.Status);
        Assert.Equal(4200, intent.Amount);
        Assert.Equal(4200, intent.AmountReceived);
        Assert.Equal("eur", intent.Currency);
        Assert.StartsWith(intent.Id + "_secret_", intent.ClientSecret);
        Assert.NotNull(intent.LatestChargeId);
        var retrieved = await Intents.GetAsync(intent.Id);
        Assert.Equal("succeeded", retrieved.Status);
    }

    [Theory]
    [InlineData("pm_card_visa_chargeDeclined", "generic_decline")]
    [InlineData("pm_card_chargeDeclined", "generic_decline")]
    [InlineData("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds")]
    public async Task A_declined_card_is_a_402_card_error_and_leaves_the_intent_payable(string card, string declineCode)
    {
        var failure = await Assert.ThrowsAsync<StripeException>(() => Intents.CreateAsync(Charge(card), Key()));

        Assert.Equal(HttpStatusCode.PaymentRequired, failure.HttpStatusCode);
        Assert.Equal("card_error", failure.StripeError.Type);
        Assert.Equal("card_declined", failure.StripeError.Code);
        Assert.Equal(declineCode, failure.StripeError.DeclineCode);
        Assert.Equal("requires_payment_method", failure.StripeError.PaymentIntent.Status);

        var retried = await Intents.ConfirmAsync(failure.StripeError.PaymentIntent.Id, new PaymentIntentConfirmOptions { PaymentMethod = "pm_card_visa" }, Key());
        Assert.Equal("succeeded", retried.Status);
    }

    [Fact]
    public async Task Authentication_required_answers_next_action_until_the_customer_completes_it()
    {
        var sdk = await Intents.CreateAsync(Charge("pm_card_authenticationRequired"), Key());
        var redirect = await Intents.CreateAsync(Charge("pm_card_authenticationRequired", returnUrl: "https://shop.example/return"), Key());

        Assert.Equal("requires_action", sdk.Status);
        Assert.Equal("use_stripe_sdk", sdk.NextAction.Type);
        Assert.Equal("redirect_to_url", redirect.NextAction.Type);
        Assert.Equal("https://shop.example/return", redirect.NextAction.RedirectToUrl.ReturnUrl);

        await StubServer.CompleteAuthenticationAsync(stub.Server, sdk.Id, succeed: true);
        var completed = await Intents.GetAsync(sdk.Id);
        Assert.Equal("succeeded", completed.Status);
        Assert.Equal(sdk.Amount, completed.AmountReceived);
    }

    [Fact]
    public async Task The_same_idempotency_key_and_parameters_replay_the_first_answer_without_a_second_charge()
    {
        var key = Key();
        var options = Charge("pm_card_visa");

        var first = await Intents.CreateAsync(options, key);
        var replay = await Intents.CreateAsync(options, key);

        Assert.Equal(first.Id, replay.Id);
        Assert.Equal("true", replay.StripeResponse.Headers.GetValues("Idempotent-Replayed").Single());
        Assert.Single(stub.Server.Ledger.PaymentIntents, i => i.Metadata.GetValueOrDefault("order_id") == options.Metadata["order_id"]);
    }

    [Fact]
    public async Task The_same_idempotency_key_with_other_parameters_is_an_idempotency_error()
    {
        var key = Key();
        var options = Charge("pm_card_visa");
        await Intents.CreateAsync(options, key);
        options.Amount = 9900;

        var failure = await Assert.ThrowsAsync<StripeException>(() => Intents.CreateAsync(options, key));

        Assert.Equal(HttpStatusCode.BadRequest, failure.HttpStatusCode);
        Assert.Equal("idempotency_error", failure.StripeError.Type);
    }

    [Fact]
    public async Task An_idempotency_key_older_than_the_retention_is_forgotten_and_runs_anew()
    {
        await using var server = await StripeStubServer.StartAsync(stub.Server.Options with { Port = 0, IdempotencyKeyRetention = TimeSpan.FromSeconds(1) });
        var client = new StripeClient(server.Options.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), 0), apiBase: server.ApiBase);
        var key = Key();
        var options = Charge("pm_card_visa");
        var first = await client.V1.PaymentIntents.CreateAsync(options, key);
        Assert.Equal(first.Id, (await client.V1.PaymentIntents.CreateAsync(options, key)).Id);

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var again = await client.V1.PaymentIntents.CreateAsync(options, key);

        Assert.NotEqual(first.Id, again.Id);
        Assert.False(again.StripeResponse.Headers.Contains("Idempotent-Replayed"));
    }

    [Fact]
    public async Task Events_and_deliveries_older_than_the_history_are_forgotten()
    {
        await using var server = await StripeStubServer.StartAsync(stub.Server.Options with { Port = 0, EventHistory = TimeSpan.FromSeconds(1) });
        var client = new StripeClient(server.Options.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), 0), apiBase: server.ApiBase);
        var old = await client.V1.PaymentIntents.CreateAsync(Charge("pm_card_visa"), Key());
        Assert.Contains(server.Events.Events, e => e.Json.Contains(old.Id, StringComparison.Ordinal));

        await Task.Delay(TimeSpan.FromSeconds(1.2));
        var recent = await client.V1.PaymentIntents.CreateAsync(Charge("pm_card_visa"), Key());

        Assert.DoesNotContain(server.Events.Events, e => e.Json.Contains(old.Id, StringComparison.Ordinal));
        Assert.Contains(server.Events.Events, e => e.Json.Contains(recent.Id, StringComparison.Ordinal));
        Assert.Equal("succeeded", (await client.V1.PaymentIntents.GetAsync(old.Id)).Status);
    }

    [Fact]
    public async Task Cancel_and_refund_follow_stripes_state_rules()
    {
        var pending = await Intents.CreateAsync(Charge("pm_card_authenticationRequired"), Key());
        var paid = await Intents.CreateAsync(Charge("pm_card_visa", 1500), Key());

        var cancelled = await Intents.CancelAsync(pending.Id, new PaymentIntentCancelOptions { CancellationReason = "abandoned" }, Key());
        var notCancellable = await Assert.ThrowsAsync<StripeException>(() => Intents.CancelAsync(paid.Id, null, Key()));
        var refund = await stub.Client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = paid.Id }, Key());
        var twice = await Assert.ThrowsAsync<StripeException>(() => stub.Client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = paid.Id }, Key()));
        var unpaid = await Assert.ThrowsAsync<StripeException>(() => stub.Client.V1.Refunds.CreateAsync(new RefundCreateOptions { PaymentIntent = cancelled.Id }, Key()));

        Assert.Equal("canceled", cancelled.Status);
        Assert.Equal("abandoned", cancelled.CancellationReason);
        Assert.Equal("payment_intent_unexpected_state", notCancellable.StripeError.Code);
        Assert.Equal(1500, refund.Amount);
        Assert.Equal("succeeded", refund.Status);
        Assert.Equal("charge_already_refunded", twice.StripeError.Code);
        Assert.Equal("charge_not_refundable", unpaid.StripeError.Code);
    }

    [Fact]
    public async Task Unknown_ids_payment_methods_parameters_and_keys_are_refused()
    {
        var noIntent = await Assert.ThrowsAsync<StripeException>(() => Intents.GetAsync("pi_missing"));
        var noMethod = await Assert.ThrowsAsync<StripeException>(() => Intents.CreateAsync(Charge("pm_nonsense"), Key()));
        var badKey = await Assert.ThrowsAsync<StripeException>(() => stub.NewClient("sk_test_wrong").V1.PaymentIntents.CreateAsync(Charge("pm_card_visa"), Key()));
        var unknownParameter = await Assert.ThrowsAsync<StripeException>(() => Intents.CreateAsync(
            new PaymentIntentCreateOptions { Amount = 100, Currency = "eur", ExtraParams = new Dictionary<string, object> { ["surprise"] = "1" } }, Key()));

        Assert.Equal(HttpStatusCode.NotFound, noIntent.HttpStatusCode);
        Assert.Equal("resource_missing", noIntent.StripeError.Code);
        Assert.Equal("payment_method", noMethod.StripeError.Param);
        Assert.Equal(HttpStatusCode.Unauthorized, badKey.HttpStatusCode);
        Assert.Equal("parameter_unknown", unknownParameter.StripeError.Code);
    }

    [Fact]
    public async Task Webhooks_are_signed_so_that_EventUtility_accepts_them_and_are_retried_until_accepted()
    {
        var received = new ConcurrentQueue<(string Payload, string Signature)>();
        var failuresLeft = 2;
        var port = PortAllocator.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            received.Enqueue((await reader.ReadToEndAsync(), request.Headers["Stripe-Signature"].ToString()));
            return Interlocked.Decrement(ref failuresLeft) >= 0 ? Results.StatusCode(500) : Results.Ok();
        });
        await receiver.StartAsync();
        await using var server = await StripeStubServer.StartAsync(stub.Server.Options with
        {
            Port = 0,
            WebhookUrl = new Uri($"http://127.0.0.1:{port}/hook"),
        });
        var client = new StripeClient(server.Options.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), 0), apiBase: server.ApiBase);

        var intent = await client.V1.PaymentIntents.CreateAsync(Charge("pm_card_visa"), Key());

        await PaymentWorld.EventuallyAsync(() => server.Events.Deliveries.Any(d => d.Type == "payment_intent.succeeded" && d.StatusCode == 200), "the accepted delivery");
        var succeeded = received.Select(r => EventUtility.ConstructEvent(r.Payload, r.Signature, server.Options.WebhookSecret))
            .Where(e => e.Type == EventTypes.PaymentIntentSucceeded).ToList();
        Assert.NotEmpty(succeeded);
        Assert.All(succeeded, e => Assert.Equal(intent.Id, Assert.IsType<PaymentIntent>(e.Data.Object).Id));
        Assert.Single(succeeded.Select(e => e.Id).Distinct());
        Assert.Contains(server.Events.Deliveries, d => d.StatusCode == 500);
        Assert.Throws<StripeException>(() => EventUtility.ConstructEvent(received.First().Payload, received.First().Signature, "whsec_other"));
    }
}
