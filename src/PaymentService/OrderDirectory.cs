using System.Net;
using System.Text.Json;

namespace TicketSaga.PaymentService;

/// <summary>
/// Asks order-service (Dapr service invocation through the sidecar): <c>GET /orders/{id}</c> with the
/// caller's own token, whether the caller has an order whose payment row is not here (an unknown order,
/// or one whose orders.order.created has not arrived); and <c>GET /internal/orders/{id}</c>, the status an
/// order really has, why it ended, and whose it is and what it costs.
/// </summary>
public sealed partial class OrderDirectory(HttpClient orderService, ILogger<OrderDirectory> logger)
{
    /// <summary>The status <see cref="StateAsync"/> answers for an order order-service does not know.</summary>
    public const string Unknown = "UNKNOWN";

    private static readonly JsonSerializerOptions SnakeCase = new(JsonSerializerDefaults.Web) { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <returns>true: the caller's order exists; false: order-service does not know it (for this caller); null: no answer.</returns>
    public async Task<bool?> KnowsAsync(Guid orderId, string? authorization, CancellationToken cancellationToken)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/orders/{orderId}");
            if (!string.IsNullOrEmpty(authorization))
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using var response = await orderService.SendAsync(request, cancellationToken);
            return response.IsSuccessStatusCode ? true : response.StatusCode == HttpStatusCode.NotFound ? false : null;
        }
        catch (HttpRequestException ex)
        {
            LogOrderServiceUnreachable(logger, orderId, ex.Message);
            return null;
        }
    }

    /// <returns>The order's status (<see cref="TicketSaga.Contracts.OrderStatuses"/>, or <see cref="Unknown"/>) and why it ended; null when order-service did not answer.</returns>
    public async Task<OrderState?> StateAsync(Guid orderId, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await orderService.GetAsync($"/internal/orders/{orderId}", cancellationToken);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return new OrderState(Unknown);
            }

            return response.IsSuccessStatusCode
                ? await response.Content.ReadFromJsonAsync<OrderState>(SnakeCase, cancellationToken)
                : null;
        }
        catch (HttpRequestException ex)
        {
            LogOrderServiceUnreachable(logger, orderId, ex.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "order-service could not be asked about order {OrderId}: {Error}")]
    private static partial void LogOrderServiceUnreachable(ILogger logger, Guid orderId, string error);
}

/// <summary>What order-service says of an order: its status, why it ended unsold, and what paying it takes.</summary>
public sealed record OrderState(
    string Status, string? CancellationReason = null, string? UserId = null, long? AmountMinor = null, string? Currency = null, DateTimeOffset? ExpiresAt = null);
