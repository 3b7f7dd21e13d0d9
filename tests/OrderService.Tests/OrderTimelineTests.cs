using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using TicketSaga.Contracts;
using TicketSaga.OrderService.Orders;
using TicketSaga.PublicApi;

namespace TicketSaga.OrderService.Tests;

/// <summary>GET /orders/{id}/timeline: the saga's steps with their times, the payment attempts as payment-service recorded them.</summary>
public sealed class OrderTimelineTests(SagaSystem system) : IClassFixture<SagaSystem>
{
    private static string NewUser() => "user-" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task The_timeline_lists_each_attempt_that_captured_nothing_with_its_reason_and_time()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        // Between the hold and the confirmation, which follows the capture.
        var createdAt = (await system.OrderStore.GetAsync(Guid.Parse(orderId), default))!.CreatedAt;
        var (declinedAt, authenticationAskedAt, capturedAt) = (createdAt.AddMilliseconds(10), createdAt.AddMilliseconds(20), createdAt.AddMilliseconds(30));
        if (capturedAt - DateTimeOffset.UtcNow is var wait && wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        system.PaymentAttempts.Attempts[Guid.Parse(orderId)] =
        [
            new(1, declinedAt.AddMilliseconds(-5), PaymentAttemptOutcomes.Declined, "insufficient_funds", "Your card has insufficient funds.", declinedAt),
            new(2, authenticationAskedAt.AddMilliseconds(-5), PaymentAttemptOutcomes.RequiresAction, null, null, authenticationAskedAt),
            new(3, capturedAt.AddMilliseconds(-5), PaymentAttemptOutcomes.Succeeded, null, null, capturedAt),
        ];
        await system.PublishPaymentAsync(orderId, Guid.NewGuid().ToString(), capturedAt);
        await SagaSystem.WaitForStatusAsync(customer, orderId, OrderStatuses.Confirmed);

        var entries = (await customer.GetFromJsonAsync<JsonElement>($"/orders/{orderId}/timeline")).GetProperty("entries").EnumerateArray().ToList();

        Assert.Equal(["created", "held", "payment_attempt", "payment_attempt", "payment_captured", "confirmed"], entries.Select(e => e.GetProperty("step").GetString()));
        var (declined, authentication) = (entries[2], entries[3]);
        Assert.Equal(declinedAt, declined.GetProperty("at").GetDateTimeOffset());
        Assert.Equal("Payment attempt 1 declined (insufficient_funds): Your card has insufficient funds.", declined.GetProperty("detail").GetString());
        Assert.Equal(authenticationAskedAt, authentication.GetProperty("at").GetDateTimeOffset());
        Assert.Contains("3D Secure", authentication.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_payment_service_the_timeline_is_served_with_the_orders_own_steps()
    {
        var ticket = await system.GeneralAdmissionAsync();
        using var customer = system.Customer(NewUser());
        var orderId = (await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!;
        system.PaymentAttempts.Attempts[Guid.Parse(orderId)] =
            [new(1, DateTimeOffset.UtcNow, PaymentAttemptOutcomes.Declined, "card_declined", "Your card was declined.", DateTimeOffset.UtcNow)];
        system.PaymentAttempts.Failing = true;
        try
        {
            var entries = (await customer.GetFromJsonAsync<JsonElement>($"/orders/{orderId}/timeline")).GetProperty("entries").EnumerateArray();

            Assert.Equal(["created", "held"], entries.Select(e => e.GetProperty("step").GetString()));
        }
        finally
        {
            system.PaymentAttempts.Failing = false;
        }
    }

    [Fact]
    public async Task A_timeline_waiting_for_payment_service_holds_no_database_connection()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var ticket = await system.GeneralAdmissionAsync();
        var user = NewUser();
        using var customer = system.Customer(user);
        var orderId = Guid.Parse((await SagaSystem.PlaceAsync(customer, new { ticket_id = ticket.TicketId, qty = 1 })).GetProperty("order_id").GetString()!);
        // One connection, and a short wait for it: a reader that kept it would make the probe below fail.
        await using var oneConnection = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(system.OrdersDatabase) { MaxPoolSize = 1, Timeout = 2 }.ConnectionString);
        var paymentService = new SlowPaymentService();
        using var payments = new HttpClient(paymentService) { BaseAddress = new Uri("http://payment-service") };
        var timelines = new OrderTimelines(oneConnection, new PaymentHistory(payments, NullLogger<PaymentHistory>.Instance));

        var reading = timelines.GetAsync(orderId, user, cancellationToken);
        await paymentService.Asked.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        await using (var probe = oneConnection.CreateCommand("SELECT status FROM orders WHERE order_id = @order"))
        {
            probe.Parameters.AddWithValue("order", orderId);
            Assert.Equal(OrderStatuses.Pending, await probe.ExecuteScalarAsync(cancellationToken));
        }

        paymentService.Answer.SetResult();
        var timeline = await reading;

        Assert.Equal([TimelineSteps.Created, TimelineSteps.Held], timeline!.Entries.Select(e => e.Step));
    }

    /// <summary>payment-service, answering no attempts once the test lets it.</summary>
    private sealed class SlowPaymentService : HttpMessageHandler
    {
        public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Asked.TrySetResult();
            await Answer.Task.WaitAsync(cancellationToken);
            return new HttpResponseMessage(HttpStatusCode.OK) { Content = JsonContent.Create(Array.Empty<PaymentAttempt>()) };
        }
    }
}
