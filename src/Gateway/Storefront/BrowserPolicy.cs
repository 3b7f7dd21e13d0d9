using Microsoft.AspNetCore.StaticFiles;

namespace TicketSaga.Gateway.Storefront;

/// <summary>
/// What the gateway asks of browsers and caches. Every answer is <c>nosniff</c>, so a JSON problem echoing a
/// request is never read as a page; a signed-in buyer's answers are not stored. The storefront's files also
/// carry a Content-Security-Policy: scripts only from the gateway and Stripe.js; connections only to the API,
/// Stripe and the OIDC provider (its discovery and token endpoints); frames only Stripe's (3D Secure, the
/// Payment Element); never framed itself (clickjacking); no inline script, so injected markup cannot run.
/// </summary>
internal static class BrowserPolicy
{
    /// <summary>
    /// Stripe's published requirements for Stripe.js and for Link, which the Payment Element offers when the
    /// account has it on (docs.stripe.com/security/guide, Content Security Policy).
    /// </summary>
    private const string StripeScripts = "https://js.stripe.com https://*.js.stripe.com";
    private const string StripeFrames = "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com https://link.com https://*.link.com";
    private const string StripeConnections = "https://api.stripe.com https://link.com https://*.link.com";
    private const string StripeImages = "https://*.stripe.com https://*.link.com";

    /// <param name="oidcAuthority"><c>Auth:Authority</c>: its origin serves the discovery document and, usually, the token endpoint.</param>
    /// <param name="connectSources"><c>Storefront:ConnectSources</c>: further origins, e.g. a token endpoint elsewhere.</param>
    public static string ContentSecurityPolicy(string? oidcAuthority, IEnumerable<string> connectSources)
    {
        var origins = connectSources.Prepend(oidcAuthority).Select(WebOrigin).OfType<string>().Distinct();
        return string.Join("; ",
            "default-src 'self'",
            $"script-src 'self' {StripeScripts}",
            string.Join(' ', ["connect-src 'self'", StripeConnections, .. origins]),
            $"frame-src {StripeFrames}",
            $"img-src 'self' data: {StripeImages}",
            "style-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'");
    }

    /// <summary>
    /// Every answer <c>nosniff</c>; an answer to a request with a bearer token (a buyer's orders and payments)
    /// <c>Cache-Control: no-store</c> unless its app said otherwise, so no shared cache or browser keeps it.
    /// </summary>
    public static WebApplication UseResponsePolicy(this WebApplication app)
    {
        // When the answer starts: after the proxy copied the upstream's headers, and after an error handler cleared them.
        app.Use((context, next) =>
        {
            context.Response.OnStarting(static state =>
            {
                var http = (HttpContext)state;
                http.Response.Headers.XContentTypeOptions = "nosniff";
                if (http.Request.Headers.Authorization.Count > 0 && http.Response.Headers.CacheControl.Count == 0)
                {
                    http.Response.Headers.CacheControl = "no-store";
                }

                return Task.CompletedTask;
            }, context);
            return next(context);
        });
        return app;
    }

    /// <summary>The origin of an absolute http(s) address; null for anything else (a CSP source is never a path or a file).</summary>
    public static string? WebOrigin(string? address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" ? uri.GetLeftPart(UriPartial.Authority) : null;

    public static Action<StaticFileResponseContext> StorefrontHeaders(string contentSecurityPolicy) => file =>
    {
        var headers = file.Context.Response.Headers;
        headers.ContentSecurityPolicy = contentSecurityPolicy;
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "strict-origin-when-cross-origin";
    };
}
