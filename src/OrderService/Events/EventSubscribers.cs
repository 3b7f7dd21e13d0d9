using TicketSaga.Contracts;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.OrderService.Events;

/// <summary>
/// Subscribers (declared in components/subscriptions.yaml; the sidecar calls them, no JWT). Each reads
/// the CloudEvent envelope itself: its id keys the inbox. Answers follow <see cref="DaprAnswer"/>.
/// </summary>
public static class EventSubscribers
{
    public static WebApplication MapEventSubscribers(this WebApplication app)
    {
        var events = app.MapGroup("/events").RequireSidecar();
        events.MapPost(Topics.PaymentSucceeded, PaymentSucceededAsync);
        events.MapPost(Topics.PaymentRefunded, PaymentRefundedAsync);
        events.MapPost(Topics.ExpirationComplete, ExpirationCompleteAsync);
        return app;
    }

    private static async Task<DaprAnswer> PaymentSucceededAsync(HttpRequest request, OrderSignals signals, CancellationToken cancellationToken) =>
        await CloudEventReader.ReadAsync<PaymentSucceeded>(request, cancellationToken) is { } message
            ? await signals.PaymentSucceededAsync(message.Id, message.Data, cancellationToken)
            : Malformed;

    private static async Task<DaprAnswer> PaymentRefundedAsync(HttpRequest request, PaymentRefunds refunds, CancellationToken cancellationToken) =>
        await CloudEventReader.ReadAsync<PaymentRefunded>(request, cancellationToken) is { Data.RefundId: not null } message
            ? await refunds.HandleAsync(message.Id, message.Data, cancellationToken)
            : Malformed;

    private static async Task<DaprAnswer> ExpirationCompleteAsync(HttpRequest request, OrderSignals signals, CancellationToken cancellationToken) =>
        await CloudEventReader.ReadAsync<ExpirationComplete>(request, cancellationToken) is { } message
            ? await signals.ExpirationCompleteAsync(message.Id, message.Data, cancellationToken)
            : Malformed;

    private static DaprAnswer Malformed { get; } = DaprAnswer.Drop("the body is not a CloudEvent with an id and this topic's data");
}
