using Microsoft.AspNetCore.Mvc;
using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using TicketSaga.Contracts;
using TicketSaga.PublicApi;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.PaymentService;

/// <summary>The public response types (TicketSaga.PublicApi) made from payments as stored.</summary>
public static class PaymentViews
{
    extension(PaymentView)
    {
        public static PaymentView Of(Payment payment) => new(
            payment.OrderId, payment.PaymentId, payment.Status, payment.AmountMinor, payment.Currency, payment.PaymentIntentId, payment.LastDeclineCode);
    }
}

/// <summary>The public payment API (snake_case JSON, RFC 9457 problems) and the Stripe webhook.</summary>
public static class PaymentsApi
{
    public static WebApplication MapPaymentsApi(this WebApplication app)
    {
        var payments = app.MapGroup("/payments").RequireAuthorization();
        payments.MapPost("/confirm", ConfirmAsync);
        payments.MapGet("/{orderId:guid}", async Task<Results<Ok<PaymentView>, ProblemHttpResult>> (Guid orderId, ClaimsPrincipal user, PaymentConfirmation payments, CancellationToken cancellationToken) =>
            await payments.FindAsync(orderId, user.UserId(), cancellationToken) is { } payment ? TypedResults.Ok(payment) : PaymentProblems.UnknownOrder());
        return app;
    }

    /// <summary>
    /// What order-service reads for an order's timeline (Dapr service invocation, no user token): every attempt
    /// to pay it. Outside /payments, so the gateway's public routes never reach it; accessControl lets only
    /// order-service call it.
    /// </summary>
    public static WebApplication MapPaymentAttemptsApi(this WebApplication app)
    {
        app.MapGet("/internal/payments/{orderId:guid}/attempts", async (Guid orderId, PaymentStore store, CancellationToken cancellationToken) =>
                TypedResults.Json(await store.AttemptsAsync(orderId, cancellationToken), EventJson.Options))
            .RequireSidecar();
        return app;
    }

    public static WebApplication MapStripeWebhook(this WebApplication app)
    {
        app.MapPost("/payments/webhook", async Task<Results<Ok, ProblemHttpResult>> (HttpRequest request, StripeWebhook webhook, CancellationToken cancellationToken) =>
        {
            using var reader = new StreamReader(request.Body);
            var json = await reader.ReadToEndAsync(cancellationToken);
            return await webhook.HandleAsync(json, request.Headers["Stripe-Signature"].ToString(), cancellationToken) switch
            {
                WebhookAnswer.Rejected rejected => PaymentProblems.InvalidSignature(rejected.Reason),
                WebhookAnswer.Later later => PaymentProblems.WebhookTooEarly(later.Reason),
                _ => TypedResults.Ok(),
            };
        }).AllowAnonymous().WithMetadata(new RequestSizeLimitAttribute(RequestLimits.StripeWebhookBodyBytes));
        return app;
    }

    private static async Task<Results<Ok<PaymentView>, Accepted<PaymentView>, ProblemHttpResult>> ConfirmAsync(
        ConfirmPaymentRequest body, ClaimsPrincipal user, HttpContext http, PaymentConfirmation payments, CancellationToken cancellationToken)
    {
        if (!Guid.TryParse(body.OrderId, out var orderId))
        {
            return PaymentProblems.InvalidRequest("order_id must be the order's UUID.");
        }

        if (string.IsNullOrWhiteSpace(body.PaymentMethod) || body.PaymentMethod.Length > 255)
        {
            return PaymentProblems.InvalidRequest("payment_method is required (a Stripe PaymentMethod id, e.g. pm_card_visa).");
        }

        var outcome = await payments.ConfirmAsync(orderId, user.UserId(), body.PaymentMethod, http.Request.Headers.Authorization.ToString(), cancellationToken);
        switch (outcome)
        {
            case ConfirmOutcome.NotYetPayable or ConfirmOutcome.ProviderUnavailable:
                http.Response.Headers.RetryAfter = "1";
                break;
        }

        return outcome switch
        {
            ConfirmOutcome.Paid paid => TypedResults.Ok(paid.Payment),
            ConfirmOutcome.ActionRequired action => TypedResults.Ok(action.Payment),
            ConfirmOutcome.Processing processing => TypedResults.Accepted($"/payments/{orderId}", processing.Payment),
            ConfirmOutcome.Declined declined => PaymentProblems.Declined(declined),
            ConfirmOutcome.InvalidPaymentMethod invalid => PaymentProblems.InvalidPaymentMethod(invalid.Message),
            ConfirmOutcome.RejectedByProvider rejected => PaymentProblems.RejectedByProvider(rejected),
            ConfirmOutcome.UnknownOrder => PaymentProblems.UnknownOrder(),
            ConfirmOutcome.NotYetPayable => PaymentProblems.NotYetPayable(),
            ConfirmOutcome.OrderEnded ended => PaymentProblems.OrderNotPayable(ended.Detail),
            ConfirmOutcome.ProviderUnavailable unavailable => PaymentProblems.ProviderUnavailable(unavailable.Detail),
            _ => throw new InvalidOperationException($"Unhandled outcome {outcome}"),
        };
    }
}

/// <summary>Every error of the API: a stable type URI, the right status, a message a client can show.</summary>
public static class PaymentProblems
{
    private const string Base = "https://ticketsaga.dev/problems/";

    public static ProblemHttpResult InvalidRequest(string detail) => Problem(400, "invalid-request", "The request is invalid", detail);

    public static ProblemHttpResult InvalidPaymentMethod(string detail) => Problem(400, "invalid-payment-method", "The payment method cannot be used", detail);

    public static ProblemHttpResult InvalidSignature(string detail) => Problem(400, "invalid-webhook-signature", "The webhook signature is invalid", detail);

    public static ProblemHttpResult WebhookTooEarly(string detail) => Problem(409, "webhook-too-early", "The event cannot be applied yet", detail);

    public static ProblemHttpResult UnknownOrder() => Problem(404, "order-not-found", "Unknown order", "There is no order with this id for you.");

    public static ProblemHttpResult NotYetPayable() =>
        Problem(409, "order-not-yet-payable", "The order is not payable yet", "The order was just created and is not payable yet; retry shortly.");

    public static ProblemHttpResult OrderNotPayable(string detail) => Problem(409, "order-not-payable", "The order cannot be paid", detail);

    public static ProblemHttpResult ProviderUnavailable(string detail) => Problem(503, "payment-provider-unavailable", "Payment temporarily unavailable", detail);

    public static ProblemHttpResult Declined(ConfirmOutcome.Declined declined) => TypedResults.Problem(
        detail: declined.Message + " The order stays payable until it expires: try another payment method.",
        statusCode: 402,
        title: "The payment was declined",
        type: Base + "payment-declined",
        extensions: new Dictionary<string, object?> { ["code"] = declined.Code, ["decline_code"] = declined.DeclineCode });

    public static ProblemHttpResult RejectedByProvider(ConfirmOutcome.RejectedByProvider rejected) => TypedResults.Problem(
        detail: rejected.Message + " Retrying the same payment will not help.",
        statusCode: 422,
        title: "The payment provider refused the payment",
        type: Base + "payment-request-rejected",
        extensions: new Dictionary<string, object?> { ["code"] = rejected.Code, ["param"] = rejected.Param });

    private static ProblemHttpResult Problem(int status, string type, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: Base + type);
}
