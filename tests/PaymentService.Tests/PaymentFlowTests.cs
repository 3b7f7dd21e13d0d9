using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Stripe;
using TicketSaga.Contracts;
using TicketSaga.Outbox;
using TicketSaga.StripeStub;

namespace TicketSaga.PaymentService.Tests;

public sealed class PaymentFlowTests(PaymentWorld world) : IClassFixture<PaymentWorld>
{
    [Fact]
    public async Task Paying_with_a_valid_card_succeeds_records_the_money_and_publishes_payments_payment_succeeded()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 5150);

        using var response = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await PaymentWorld.BodyAsync(response);
        Assert.Equal("SUCCEEDED", body.GetProperty("status").GetString());
        Assert.Equal(5150, body.GetProperty("amount_minor").GetInt64());
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(("succeeded", 5150L, "eur"), (intent.Status, intent.AmountReceived, intent.Currency));
        Assert.Equal(intent.Id, body.GetProperty("payment_intent_id").GetString());
        Assert.Equal(1L, await world.ScalarAsync<long>("SELECT count(*) FROM payment_records WHERE order_id = @order AND amount_minor = 5150", order.OrderId));

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count > 0, "payments.payment.succeeded");
        var published = Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
        Assert.Equal(intent.Id, published.Data.GetProperty("paymentIntentId").GetString());
        Assert.Equal(5150, published.Data.GetProperty("amountMinor").GetInt64());
        Assert.Equal("EUR", published.Data.GetProperty("currency").GetString());
        Assert.Equal(published.Id, (await world.ScalarAsync<Guid>("SELECT id FROM outbox WHERE order_id = @order", order.OrderId)).ToString());
    }

    [Fact]
    public async Task A_declined_card_answers_402_with_the_decline_code_and_another_card_then_pays()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);

        using var declined = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa_chargeDeclined");
        var problem = await ResponseAssert.ProblemAsync(declined, HttpStatusCode.PaymentRequired, "payment-declined");
        Assert.Equal("generic_decline", problem.GetProperty("decline_code").GetString());
        Assert.Equal("PENDING", await world.PaymentStatusAsync(order.OrderId));

        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_mastercard");

        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(("succeeded", "pm_card_mastercard"), (intent.Status, intent.PaymentMethod));
        Assert.Equal(2, await world.ScalarAsync<int>("SELECT attempt FROM payments WHERE order_id = @order", order.OrderId));
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count > 0, "payments.payment.succeeded");
    }

    [Fact]
    public async Task Another_card_while_3d_secure_is_pending_is_charged_on_the_same_intent()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 4700);
        using var pending = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
        Assert.Equal("REQUIRES_ACTION", (await PaymentWorld.BodyAsync(pending)).GetProperty("status").GetString());

        // The customer gives up on authenticating and pays with a card that needs none.
        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        Assert.Equal("SUCCEEDED", (await PaymentWorld.BodyAsync(paid)).GetProperty("status").GetString());
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(("succeeded", 4700L, "pm_card_visa"), (intent.Status, intent.AmountReceived, intent.PaymentMethod));
    }

    [Fact]
    public async Task A_confirm_after_3d_secure_succeeded_but_before_its_webhook_is_answered_paid_without_a_second_charge()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 5300);
        using var pending = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");
        var intentId = (await PaymentWorld.BodyAsync(pending)).GetProperty("payment_intent_id").GetString()!;
        world.Stub.Events.Hold();
        await StubServer.CompleteAuthenticationAsync(world.Stub, intentId, succeed: true);

        using var again = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal("SUCCEEDED", (await PaymentWorld.BodyAsync(again)).GetProperty("status").GetString());
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal((intentId, 5300L, "pm_card_authenticationRequired"), (intent.Id, intent.AmountReceived, intent.PaymentMethod));
        world.Stub.Events.Release();
        await world.QuiesceAsync();
        Assert.Single(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));
    }

    [Fact]
    public async Task An_intent_cancelled_at_Stripe_before_its_webhook_arrives_is_replaced_by_a_new_one_at_the_next_confirm()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 2900);
        using var declined = await world.ConfirmAsync(user, order.OrderId, "pm_card_chargeDeclined");
        Assert.Equal(HttpStatusCode.PaymentRequired, declined.StatusCode);
        var cancelled = Assert.Single(world.IntentsOf(order.OrderId)).Id;
        world.Stub.Events.Hold();
        var stripe = new StripeClient(world.Stub.Options.ApiKey, httpClient: new SystemNetHttpClient(new HttpClient(), maxNetworkRetries: 0), apiBase: world.Stub.ApiBase);
        await stripe.V1.PaymentIntents.CancelAsync(cancelled, cancellationToken: TestContext.Current.CancellationToken);

        using var paid = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        Assert.Equal(HttpStatusCode.OK, paid.StatusCode);
        var intents = world.IntentsOf(order.OrderId);
        Assert.Equal(2, intents.Count);
        Assert.Equal("canceled", intents.Single(i => i.Id == cancelled).Status);
        var replacement = intents.Single(i => i.Id != cancelled);
        Assert.Equal(("succeeded", 2900L), (replacement.Status, replacement.AmountReceived));
        Assert.Equal(replacement.Id, await world.ScalarAsync<string>("SELECT payment_intent_id FROM payments WHERE order_id = @order", order.OrderId));
        world.Stub.Events.Release();
        await world.QuiesceAsync();
        Assert.Equal("SUCCEEDED", await world.PaymentStatusAsync(order.OrderId));
    }

    [Fact]
    public async Task Authentication_required_answers_the_client_secret_and_the_webhook_settles_the_payment()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);

        using var response = await world.ConfirmAsync(user, order.OrderId, "pm_card_authenticationRequired");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await PaymentWorld.BodyAsync(response);
        Assert.Equal("REQUIRES_ACTION", body.GetProperty("status").GetString());
        Assert.StartsWith(body.GetProperty("payment_intent_id").GetString() + "_secret_", body.GetProperty("client_secret").GetString());
        Assert.Equal("use_stripe_sdk", body.GetProperty("next_action").GetProperty("type").GetString());
        Assert.Empty(world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded));

        await StubServer.CompleteAuthenticationAsync(world.Stub, body.GetProperty("payment_intent_id").GetString()!, succeed: true);

        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count > 0, "payments.payment.succeeded after the webhook");
        Assert.Equal("SUCCEEDED", await world.PaymentStatusAsync(order.OrderId));
    }

    [Fact]
    public async Task The_same_confirm_sent_twice_and_concurrently_charges_once()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user);

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => world.ConfirmAsync(user, order.OrderId, "pm_card_visa")));
        using var again = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        Assert.All(concurrent.Append(again), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal(intent.Amount, intent.AmountReceived);
        Assert.Equal(1, await world.ScalarAsync<int>("SELECT attempt FROM payments WHERE order_id = @order", order.OrderId));
        await PaymentWorld.EventuallyAsync(() => world.Orders.EventsOf(order.OrderId, Topics.PaymentSucceeded).Count > 0, "payments.payment.succeeded");
        Assert.Equal(1L, await world.ScalarAsync<long>("SELECT count(*) FROM outbox WHERE order_id = @order", order.OrderId));
        foreach (var response in concurrent)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_confirm_retried_after_its_intents_creation_went_unanswered_pays_once()
    {
        var user = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(user, amountMinor: 5100);

        // Stripe creates the intent, but its answer is lost: nothing is stored, nothing confirmed.
        world.Stub.Faults.LosingResponsesOf = StubFaults.Create;
        try
        {
            using var unanswered = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");
            await ResponseAssert.ProblemAsync(unanswered, HttpStatusCode.ServiceUnavailable, "payment-provider-unavailable");
        }
        finally
        {
            world.Stub.Faults.LosingResponsesOf = null;
        }

        Assert.True(await world.ScalarAsync<bool>("SELECT attempt_in_flight AND payment_intent_id IS NULL FROM payments WHERE order_id = @order", order.OrderId));
        Assert.Equal(0L, Assert.Single(world.IntentsOf(order.OrderId)).AmountReceived);

        using var retried = await world.ConfirmAsync(user, order.OrderId, "pm_card_visa");

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        var intent = Assert.Single(world.IntentsOf(order.OrderId));
        Assert.Equal((5100L, 5100L), (intent.Amount, intent.AmountReceived));
        Assert.Equal(intent.Id, await world.ScalarAsync<string>("SELECT payment_intent_id FROM payments WHERE order_id = @order", order.OrderId));
        Assert.Equal(1, await world.ScalarAsync<int>("SELECT attempt FROM payments WHERE order_id = @order", order.OrderId));
    }

    [Fact]
    public async Task Only_the_owner_can_pay_or_see_a_payment()
    {
        var owner = PaymentWorld.NewUser();
        var order = await world.CreateOrderAsync(owner);
        await world.QuiesceAsync();
        var before = await world.SnapshotAsync();

        using var pay = await world.ConfirmAsync(PaymentWorld.NewUser(), order.OrderId, "pm_card_visa");
        using var stranger = world.ClientFor(PaymentWorld.NewUser());
        using var look = await stranger.GetAsync($"/payments/{order.OrderId}");
        using var anonymous = world.ClientFor(null);
        using var unauthenticated = await anonymous.PostAsJsonAsync("/payments/confirm", new { order_id = order.OrderId, payment_method = "pm_card_visa" });

        await ResponseAssert.ProblemAsync(pay, HttpStatusCode.NotFound, "order-not-found");
        await ResponseAssert.ProblemAsync(look, HttpStatusCode.NotFound, "order-not-found");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Empty(world.IntentsOf(order.OrderId));
        Assert.Equal(before, await world.SnapshotAsync());
    }

    [Fact]
    public async Task A_confirm_of_an_order_payment_service_has_not_seen_holds_no_database_connection_while_order_service_answers()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        // One connection, and a short wait for it: a confirm that kept it would make the probe below fail.
        await using var oneConnection = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(world.ConnectionString) { MaxPoolSize = 1, Timeout = 2 }.ConnectionString);
        var orderService = new SlowOrderService(() => new HttpResponseMessage(HttpStatusCode.NotFound));
        using var orders = new HttpClient(orderService) { BaseAddress = new Uri("http://order-service") };
        var store = new PaymentStore(oneConnection, new OutboxSignal());
        var confirmation = new PaymentConfirmation(store, new OrderLocks(oneConnection), world.Payments.Services.GetRequiredService<StripeGateway>(),
            world.Payments.Services.GetRequiredService<PaymentSettlement>(), new OrderDirectory(orders, NullLogger<OrderDirectory>.Instance),
            NullLogger<PaymentConfirmation>.Instance);

        var confirming = confirmation.ConfirmAsync(Guid.CreateVersion7(), PaymentWorld.NewUser(), "pm_card_visa", authorization: null, cancellationToken);
        await orderService.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        await using (var probe = oneConnection.CreateCommand("SELECT 1"))
        {
            Assert.Equal(1, await probe.ExecuteScalarAsync(cancellationToken));
        }

        orderService.Answer.SetResult();

        Assert.IsType<ConfirmOutcome.UnknownOrder>(await confirming);
    }
}
