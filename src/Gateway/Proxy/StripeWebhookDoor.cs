using System.Globalization;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;

namespace TicketSaga.Gateway.Proxy;

/// <summary>
/// The anonymous Stripe webhook before it costs anything behind the gateway. A Stripe-Signature that
/// cannot be Stripe's (missing, not <c>t=…,v1=…</c>, or signed further from now than payment-service's
/// tolerance) is answered 400 here, as payment-service would answer it. At most
/// <see cref="GatewayOptions.MaxWebhooksInFlight"/> are read and forwarded at once, over connections of
/// their own (<see cref="GatewayOptions.WebhookConnections"/>); beyond that 503 with Retry-After, which
/// Stripe answers by sending the event again. A flood of forged events never takes what confirms need.
/// </summary>
public sealed class StripeWebhookDoor(RequestDelegate next, IOptions<GatewayOptions> options, TimeProvider clock)
{
    /// <summary>payment-service's tolerance for the signature's timestamp (Stripe.net's default).</summary>
    public static readonly TimeSpan SignatureTolerance = TimeSpan.FromSeconds(300);

    private const string StripeSignatureHeader = "Stripe-Signature";

    private int _inFlight;

    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetReverseProxyFeature().Route.Config.RouteId != SidecarRoutes.StripeWebhookRoute)
        {
            await next(context);
            return;
        }

        if (SignatureRefusal(context.Request.Headers[StripeSignatureHeader].ToString(), clock.GetUtcNow()) is { } refusal)
        {
            await GatewayProblems.WriteAsync(context, GatewayProblems.Create(StatusCodes.Status400BadRequest, GatewayProblems.InvalidWebhookSignature,
                "The webhook signature is invalid", refusal));
            return;
        }

        var settings = options.Value;
        try
        {
            if (Interlocked.Increment(ref _inFlight) > settings.MaxWebhooksInFlight)
            {
                await GatewayProblems.WriteOverloadedAsync(context, settings.OverloadRetryAfter, "Too many webhook events at once; send this one again later.");
                return;
            }

            await next(context);
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <returns>Why the header cannot be a signature Stripe made just now, or null.</returns>
    public static string? SignatureRefusal(string header, DateTimeOffset now)
    {
        if (header.Length == 0)
        {
            return $"The {StripeSignatureHeader} header is missing.";
        }

        long? signedAt = null;
        var signatures = 0;
        foreach (var item in header.Split(','))
        {
            var (key, value) = item.IndexOf('=', StringComparison.Ordinal) is var equals and > 0 ? (item[..equals].Trim(), item[(equals + 1)..].Trim()) : ("", "");
            if (key == "t" && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
            {
                signedAt = seconds;
            }
            else if (key == "v1" && value.Length == 64 && value.All(char.IsAsciiHexDigitLower))
            {
                signatures++;
            }
        }

        if (signedAt is null || signatures == 0)
        {
            return $"The {StripeSignatureHeader} header is not t=<timestamp>,v1=<signature>.";
        }

        return signedAt.Value < now.Add(-SignatureTolerance).ToUnixTimeSeconds() || signedAt.Value > now.Add(SignatureTolerance).ToUnixTimeSeconds()
            ? $"The {StripeSignatureHeader} timestamp is more than {SignatureTolerance.TotalSeconds:0} s from now."
            : null;
    }
}
