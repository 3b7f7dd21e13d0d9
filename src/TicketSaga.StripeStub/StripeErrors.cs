using System.Text.Json.Nodes;

namespace TicketSaga.StripeStub;

/// <summary>An answer of the API: an HTTP status and a JSON body (an object, or <c>{"error":...}</c>).</summary>
public sealed record StubResult(int Status, JsonObject Body)
{
    public static StubResult Ok(JsonObject body) => new(200, body);
}

/// <summary>Stripe's error shapes, as Stripe.net turns them into <c>StripeException.StripeError</c>.</summary>
internal static class StripeErrors
{
    public static StubResult InvalidRequest(string message, string? param = null, string? code = null, int status = 400) =>
        Error(status, "invalid_request_error", message, code, param);

    public static StubResult NoSuch(string what, string id, string param = "id") =>
        Error(404, "invalid_request_error", $"No such {what}: '{id}'", "resource_missing", param);

    public static StubResult UnexpectedState(string action, string intentStatus, IEnumerable<string> allowed) =>
        InvalidRequest(
            $"You cannot {action} this PaymentIntent because it has a status of {intentStatus}. Only a PaymentIntent with one of the following statuses may be {(action == "cancel" ? "canceled" : action + "ed")}: {string.Join(", ", allowed)}.",
            code: "payment_intent_unexpected_state");

    public static StubResult Idempotency(string message, int status = 400) => Error(status, "idempotency_error", message, null, null);

    public static StubResult Api(int status, string message) => Error(status, "api_error", message, null, null);

    public static StubResult Authentication(string message) => Error(401, "invalid_request_error", message, null, null);

    public static JsonObject ErrorObject(string type, string message, string? code, string? param, string? declineCode = null)
    {
        var error = new JsonObject { ["type"] = type, ["message"] = message };
        if (code is not null)
        {
            error["code"] = code;
            error["doc_url"] = "https://stripe.com/docs/error-codes/" + code.Replace('_', '-');
        }

        if (param is not null)
        {
            error["param"] = param;
        }

        if (declineCode is not null)
        {
            error["decline_code"] = declineCode;
        }

        return error;
    }

    private static StubResult Error(int status, string type, string message, string? code, string? param) =>
        new(status, new JsonObject { ["error"] = ErrorObject(type, message, code, param) });
}
