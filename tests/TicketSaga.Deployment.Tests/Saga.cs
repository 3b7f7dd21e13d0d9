using TicketSaga.Contracts;

namespace TicketSaga.Deployment.Tests;

/// <summary>Who publishes and who consumes each topic: the flow of DESIGN.md, as data.</summary>
internal static class Saga
{
    public static IReadOnlyDictionary<string, string> Publisher { get; } = new Dictionary<string, string>
    {
        [Topics.OrderCreated] = AppIds.OrderService,
        [Topics.OrderCompleted] = AppIds.OrderService,
        [Topics.OrderCancelled] = AppIds.OrderService,
        [Topics.OrderRefunded] = AppIds.OrderService,
        [Topics.PaymentSucceeded] = AppIds.PaymentService,
        [Topics.PaymentRefunded] = AppIds.PaymentService,
        [Topics.ExpirationComplete] = AppIds.ExpirationService,
    };

    public static IReadOnlyDictionary<string, string[]> Subscribers { get; } = new Dictionary<string, string[]>
    {
        [Topics.OrderCreated] = [AppIds.ExpirationService, AppIds.PaymentService],
        [Topics.OrderCompleted] = [AppIds.ExpirationService],
        [Topics.OrderCancelled] = [AppIds.ExpirationService, AppIds.PaymentService],
        // Announced for whoever needs it next (notifications, reporting); nothing in the flow waits for it.
        [Topics.OrderRefunded] = [],
        [Topics.PaymentSucceeded] = [AppIds.OrderService],
        [Topics.PaymentRefunded] = [AppIds.OrderService],
        [Topics.ExpirationComplete] = [AppIds.OrderService],
    };

    /// <summary>order-service runs workflows, expiration-service hosts actors: both need the actor state store.</summary>
    public static IReadOnlyList<string> ActorStateUsers { get; } = [AppIds.ExpirationService, AppIds.OrderService];

    public static IReadOnlyList<string> PubSubUsers { get; } =
        [.. Publisher.Values.Concat(Subscribers.Values.SelectMany(s => s)).Distinct().Order(StringComparer.Ordinal)];

    /// <summary>Apps called through service invocation: order-service calls ticket/venue, the gateway calls order/payment.</summary>
    public static IReadOnlyList<string> InvocationTargets { get; } =
        [AppIds.TicketService, AppIds.VenueService, AppIds.OrderService, AppIds.PaymentService];
}
