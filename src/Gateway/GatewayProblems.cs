using System.Globalization;
using Microsoft.AspNetCore.Mvc;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Gateway;

/// <summary>The gateway's own errors: RFC 9457 problem details with a stable <c>type</c> each.</summary>
public static class GatewayProblems
{
    private const string Base = "https://ticketsaga.dev/problems/";

    public const string Unauthorized = Base + "unauthorized";
    public const string RateLimited = Base + "rate-limited";
    public const string InvalidIdempotencyKey = Base + "invalid-idempotency-key";
    public const string IdempotencyKeyReused = Base + "idempotency-key-reused";
    public const string IdempotencyKeyInProgress = Base + "idempotency-key-in-progress";
    public const string InvalidEventId = Base + "invalid-event-id";
    public const string UnknownEvent = Base + "unknown-event";
    public const string NoSeatMap = Base + "no-seat-map";
    public const string BadGateway = Base + "bad-gateway";
    public const string ServiceUnavailable = Base + "service-unavailable";
    public const string GatewayTimeout = Base + "gateway-timeout";
    public const string Overloaded = Base + "overloaded";
    public const string WaitingRoom = Base + "waiting-room";
    public const string InvalidQueueToken = Base + "invalid-queue-token";
    public const string UnsupportedMediaType = RequestSafetyExtensions.UnsupportedMediaType;
    public const string NotFound = Base + "not-found";

    /// <summary>The same type as payment-service's answer to a webhook it cannot verify.</summary>
    public const string InvalidWebhookSignature = Base + "invalid-webhook-signature";

    /// <summary>The same type as order-service's answer: the fast path says what the slow one would.</summary>
    public const string SoldOut = Base + "sold-out";
    public const string InvalidUserName = Base + "invalid-user-name";
    public const string InvalidTestAuthentication = Base + "invalid-test-authentication";
    public const string NoAuthenticationPending = Base + "no-authentication-pending";

    public static ProblemDetails Create(int status, string type, string title, string detail) =>
        new() { Status = status, Type = type, Title = title, Detail = detail };

    /// <summary>Writes the problem as application/problem+json, whatever the client accepts.</summary>
    public static Task WriteAsync(HttpContext context, ProblemDetails problem) =>
        TypedResults.Problem(problem).ExecuteAsync(context);

    /// <summary>503 <c>overloaded</c> with Retry-After (whole seconds, rounded up): shed at once, nothing held.</summary>
    public static Task WriteOverloadedAsync(HttpContext context, TimeSpan retryAfter, string detail)
    {
        context.Response.Headers.RetryAfter = ((int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
        return WriteAsync(context, Create(StatusCodes.Status503ServiceUnavailable, Overloaded, "Overloaded", detail));
    }
}
