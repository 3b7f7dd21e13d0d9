using TicketSaga.Contracts;

namespace TicketSaga.OrderService.Orders;

/// <summary>
/// Asks payment-service (Dapr service invocation through the sidecar, <c>GET /internal/payments/{id}/attempts</c>)
/// for every attempt to pay an order: it alone records them, declined ones included.
/// </summary>
public sealed partial class PaymentHistory(HttpClient paymentService, ILogger<PaymentHistory> logger)
{
    /// <returns>The attempts, oldest first; null when payment-service did not answer.</returns>
    public async Task<IReadOnlyList<PaymentAttempt>?> AttemptsAsync(Guid orderId, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await paymentService.GetAsync($"/internal/payments/{orderId}/attempts", cancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return await response.Content.ReadFromJsonAsync<List<PaymentAttempt>>(EventJson.Options, cancellationToken);
            }

            LogPaymentServiceUnreachable(logger, orderId, $"HTTP {(int)response.StatusCode}");
            return null;
        }
        catch (HttpRequestException ex)
        {
            LogPaymentServiceUnreachable(logger, orderId, ex.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "payment-service could not be asked for the payment attempts of order {OrderId}: {Error}")]
    private static partial void LogPaymentServiceUnreachable(ILogger logger, Guid orderId, string error);
}
