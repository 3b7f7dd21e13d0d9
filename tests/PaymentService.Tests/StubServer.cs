using Stripe;
using TicketSaga.StripeStub;

namespace TicketSaga.PaymentService.Tests;

/// <summary>The Stripe stub in-process on a free port, and a Stripe.net client pointed at it.</summary>
public sealed class StubServer : IAsyncLifetime
{
    private static readonly double[] RetryDelaysInSeconds = [0.05, 0.1, 0.2, 0.4, 0.8];

    public StripeStubServer Server { get; private set; } = null!;

    public StripeClient Client { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Server = await StripeStubServer.StartAsync(new StripeStubOptions
        {
            Port = 0,
            ApiKey = StripeStubOptions.NewApiKey(),
            WebhookSecret = StripeStubOptions.NewWebhookSecret(),
            WebhookRetryDelays = [.. RetryDelaysInSeconds.Select(TimeSpan.FromSeconds)],
        });
        Client = NewClient(Server.Options.ApiKey);
    }

    public StripeClient NewClient(string apiKey) =>
        new(apiKey, httpClient: new SystemNetHttpClient(new HttpClient(), maxNetworkRetries: 0), apiBase: Server.ApiBase);

    /// <summary>What the customer's 3D Secure page does, through the stub's test-mode endpoint.</summary>
    public static async Task CompleteAuthenticationAsync(StripeStubServer server, string paymentIntentId, bool succeed)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", server.Options.ApiKey);
        using var response = await http.PostAsync(
            new Uri($"{server.ApiBase}/v1/payment_intents/{paymentIntentId}/test_complete_authentication"),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["outcome"] = succeed ? "succeed" : "fail" }));
        response.EnsureSuccessStatusCode();
    }

    /// <summary>A refund made outside payment-service (the dashboard), through the stub's test-mode endpoint.</summary>
    public static async Task RefundFromDashboardAsync(StripeStubServer server, string paymentIntentId)
    {
        using var http = new HttpClient();
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", server.Options.ApiKey);
        using var response = await http.PostAsync(new Uri($"{server.ApiBase}/v1/payment_intents/{paymentIntentId}/test_refund"), new FormUrlEncodedContent([]));
        response.EnsureSuccessStatusCode();
    }

    public ValueTask DisposeAsync() => Server.DisposeAsync();
}
