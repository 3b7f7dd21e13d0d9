namespace TicketSaga.StripeStub;

internal enum CardBehaviour
{
    Succeeds,
    Declines,
    RequiresAuthentication,
}

internal sealed record TestCard(string Brand, CardBehaviour Behaviour, string? Code = null, string? DeclineCode = null, string? Message = null);

/// <summary>Stripe's test PaymentMethods (https://docs.stripe.com/testing) that the stub understands.</summary>
internal static class TestPaymentMethods
{
    private static readonly TestCard GenericDecline = new("visa", CardBehaviour.Declines, "card_declined", "generic_decline", "Your card was declined.");
    private static readonly TestCard InsufficientFunds = new("visa", CardBehaviour.Declines, "card_declined", "insufficient_funds", "Your card has insufficient funds.");

    private static readonly Dictionary<string, TestCard> Cards = new(StringComparer.Ordinal)
    {
        ["pm_card_visa"] = new("visa", CardBehaviour.Succeeds),
        ["pm_card_visa_debit"] = new("visa", CardBehaviour.Succeeds),
        ["pm_card_mastercard"] = new("mastercard", CardBehaviour.Succeeds),
        ["pm_card_amex"] = new("amex", CardBehaviour.Succeeds),
        ["pm_card_visa_chargeDeclined"] = GenericDecline,
        ["pm_card_chargeDeclined"] = GenericDecline,
        ["pm_card_visa_chargeDeclinedInsufficientFunds"] = InsufficientFunds,
        ["pm_card_chargeDeclinedInsufficientFunds"] = InsufficientFunds,
        ["pm_card_chargeDeclinedExpiredCard"] = new("visa", CardBehaviour.Declines, "expired_card", "expired_card", "Your card has expired."),
        ["pm_card_authenticationRequired"] = new("visa", CardBehaviour.RequiresAuthentication),
        ["pm_card_threeDSecure2Required"] = new("visa", CardBehaviour.RequiresAuthentication),
    };

    public static TestCard? Find(string paymentMethod) => Cards.GetValueOrDefault(paymentMethod);
}
