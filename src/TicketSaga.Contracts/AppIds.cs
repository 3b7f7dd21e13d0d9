namespace TicketSaga.Contracts;

/// <summary>Dapr app ids: the only names services use to reach each other.</summary>
public static class AppIds
{
    public const string Gateway = "gateway";
    public const string OrderService = "order-service";
    public const string TicketService = "ticket-service";
    public const string VenueService = "venue-service";
    public const string PaymentService = "payment-service";
    public const string ExpirationService = "expiration-service";

    public static IReadOnlyList<string> All { get; } =
        [Gateway, OrderService, TicketService, VenueService, PaymentService, ExpirationService];
}
