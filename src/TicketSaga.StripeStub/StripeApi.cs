using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Primitives;

namespace TicketSaga.StripeStub;

/// <summary>
/// The endpoints Stripe.net calls for PaymentIntents and refunds, plus the test helper that completes
/// 3D Secure. Requests are form-encoded (<c>metadata[order_id]=...</c>); unknown parameters are
/// rejected as Stripe does, so a client cannot rely on something the real API would refuse.
/// </summary>
internal static class StripeApi
{
    private static readonly string[] CreateParameters =
        ["amount", "currency", "payment_method", "confirm", "metadata", "return_url", "description", "automatic_payment_methods",
         "allowed_payment_method_types", "payment_method_types", "capture_method", "expand"];

    private static readonly string[] ConfirmParameters = ["payment_method", "return_url", "expand"];
    private static readonly string[] CancelParameters = ["cancellation_reason", "expand"];
    private static readonly string[] RefundParameters = ["payment_intent", "amount", "reason", "metadata", "expand"];
    private static readonly string[] CompleteParameters = ["outcome"];
    private static readonly string[] DashboardRefundParameters = ["amount"];

    public static void MapStripeApi(this IEndpointRouteBuilder app, StripeStubOptions options, Ledger ledger, IdempotencyStore idempotency, StubFaults faults)
    {
        var v1 = app.MapGroup("/v1").AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            if (!Authorized(http.Request, options.ApiKey))
            {
                return Answer(http, StripeErrors.Authentication("Invalid API Key provided."), options);
            }

            if (faults.Down)
            {
                return Answer(http, StripeErrors.Api(503, "Stripe is temporarily unavailable (test-mode outage)."), options);
            }

            var answer = await next(context);
            return faults.LosingResponses || faults.LosingResponsesOf == Endpoint(http) ? Answer(http, StripeErrors.Api(500, "The answer was lost (test-mode fault)."), options) : answer;
        });

        v1.MapPost("/payment_intents", (HttpRequest request) => Execute(request, CreateParameters, options, idempotency, form =>
        {
            if (Required(form, "amount") is { } missingAmount)
            {
                return missingAmount;
            }

            if (Required(form, "currency") is { } missingCurrency)
            {
                return missingCurrency;
            }

            if (!long.TryParse(form["amount"], out var amount) || amount < 1)
            {
                return StripeErrors.InvalidRequest("Invalid integer: amount must be a positive integer in the smallest currency unit.", "amount", "parameter_invalid_integer");
            }

            var currency = form["currency"].ToString();
            if (currency.Length != 3 || !currency.All(char.IsAsciiLetter))
            {
                return StripeErrors.InvalidRequest($"Invalid currency: {currency}.", "currency", "parameter_invalid_string");
            }

            // Like Stripe: confirm's parameters go with confirm=true only; an intent created unconfirmed takes them at its confirm.
            if (form["return_url"] is { Count: > 0 } && form["confirm"] != "true")
            {
                return StripeErrors.InvalidRequest("return_url can only be used with confirm=true.", "return_url");
            }

            if (form["capture_method"] is { Count: > 0 } capture && capture != "automatic")
            {
                return StripeErrors.InvalidRequest("The stub supports capture_method=automatic only.", "capture_method");
            }

            return ledger.Create(amount, currency.ToLowerInvariant(), Optional(form, "payment_method"), form["confirm"] == "true",
                Optional(form, "return_url"), Optional(form, "description"), Dictionary(form, "metadata"));
        }));

        v1.MapGet("/payment_intents/{id}", (HttpContext http, string id) => Answer(http, ledger.Retrieve(id), options));

        v1.MapPost("/payment_intents/{id}/confirm", (HttpRequest request, string id) => Execute(request, ConfirmParameters, options, idempotency,
            form => ledger.Confirm(id, Optional(form, "payment_method"), Optional(form, "return_url"))));

        v1.MapPost("/payment_intents/{id}/cancel", (HttpRequest request, string id) => Execute(request, CancelParameters, options, idempotency,
            form => ledger.Cancel(id, Optional(form, "cancellation_reason"))));

        // Test mode only: what the customer's 3D Secure page would do (outcome=succeed, the default, or fail).
        v1.MapPost("/payment_intents/{id}/test_complete_authentication", (HttpRequest request, string id) => Execute(request, CompleteParameters, options, idempotency,
            form => form["outcome"] is { Count: > 0 } outcome && outcome != "succeed" && outcome != "fail"
                ? StripeErrors.InvalidRequest("outcome must be succeed or fail.", "outcome")
                : ledger.CompleteAuthentication(id, form["outcome"] != "fail")));

        // Test mode only: a refund made outside the integration (the dashboard, a dispute), like `stripe trigger`; Stripe announces it by webhook.
        v1.MapPost("/payment_intents/{id}/test_refund", (HttpRequest request, string id) => Execute(request, DashboardRefundParameters, options, idempotency,
            form => long.TryParse(form["amount"], out var amount) || StringValues.IsNullOrEmpty(form["amount"])
                ? ledger.Refund(id, StringValues.IsNullOrEmpty(form["amount"]) ? null : amount, "requested_by_customer", [])
                : StripeErrors.InvalidRequest("Invalid positive integer", "amount", "parameter_invalid_integer")));

        v1.MapPost("/refunds", (HttpRequest request) => Execute(request, RefundParameters, options, idempotency, form =>
        {
            if (Required(form, "payment_intent") is { } missing)
            {
                return missing;
            }

            long? amount = null;
            if (form["amount"] is { Count: > 0 } given)
            {
                if (!long.TryParse(given, out var parsed) || parsed < 1)
                {
                    return StripeErrors.InvalidRequest("Invalid positive integer", "amount", "parameter_invalid_integer");
                }

                amount = parsed;
            }

            return ledger.Refund(form["payment_intent"]!, amount, Optional(form, "reason"), Dictionary(form, "metadata"));
        }));
    }

    private static async Task<IResult> Execute(
        HttpRequest request, string[] allowed, StripeStubOptions options, IdempotencyStore idempotency, Func<IFormCollection, StubResult> action)
    {
        var http = request.HttpContext;
        var form = http.Request.HasFormContentType ? await http.Request.ReadFormAsync() : FormCollection.Empty;
        if (form.Keys.FirstOrDefault(key => !allowed.Contains(key.Split('[')[0])) is { } unknown)
        {
            return Answer(http, StripeErrors.InvalidRequest($"Received unknown parameter: {unknown}", unknown, "parameter_unknown"), options);
        }

        var fingerprint = $"{http.Request.Method} {http.Request.Path}?" + string.Join('&', form.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
        var (result, replayed) = idempotency.Execute(http.Request.Headers["Idempotency-Key"].ToString(), fingerprint, () => action(form));
        if (replayed)
        {
            http.Response.Headers["Idempotent-Replayed"] = "true";
        }

        return Answer(http, result, options);
    }

    private static IResult Answer(HttpContext http, StubResult result, StripeStubOptions options)
    {
        http.Response.Headers["Request-Id"] = Ledger.NewId("req");
        http.Response.Headers["Stripe-Version"] = options.ApiVersion;
        if (result.Status != 200)
        {
            // Stripe.net retries 409s and server errors unless told otherwise; other client errors are final.
            http.Response.Headers["Stripe-Should-Retry"] = result.Status is 409 or >= 500 ? "true" : "false";
        }

        return Results.Content(result.Body.ToJsonString(), "application/json", Encoding.UTF8, result.Status);
    }

    /// <summary>The request's endpoint as routed, e.g. <c>POST /v1/payment_intents/{id}/confirm</c>.</summary>
    private static string? Endpoint(HttpContext http) =>
        http.GetEndpoint() is RouteEndpoint route ? $"{http.Request.Method} {route.RoutePattern.RawText}" : null;

    private static bool Authorized(HttpRequest request, string apiKey)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.Ordinal)
            && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(header["Bearer ".Length..]), Encoding.UTF8.GetBytes(apiKey));
    }

    private static StubResult? Required(IFormCollection form, string name) =>
        StringValues.IsNullOrEmpty(form[name]) ? StripeErrors.InvalidRequest($"Missing required param: {name}.", name, "parameter_missing") : null;

    private static string? Optional(IFormCollection form, string name) => StringValues.IsNullOrEmpty(form[name]) ? null : form[name].ToString();

    private static Dictionary<string, string> Dictionary(IFormCollection form, string name) =>
        form.Where(p => p.Key.StartsWith(name + "[", StringComparison.Ordinal) && p.Key.EndsWith(']'))
            .ToDictionary(p => p.Key[(name.Length + 1)..^1], p => p.Value.ToString(), StringComparer.Ordinal);
}
