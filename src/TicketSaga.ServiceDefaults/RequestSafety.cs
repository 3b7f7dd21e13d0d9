using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// Settings under <c>RequestLimits</c>: the largest request body an app accepts, and how many
/// connections and HTTP/2 streams its Kestrel serves at once, so that overload is refused at the door
/// instead of exhausting file handles, threads or memory.
/// </summary>
public sealed class RequestLimits
{
    public const string SectionName = "RequestLimits";

    /// <summary>Stripe's webhook events carry a whole PaymentIntent; Stripe keeps them well below this.</summary>
    public const long StripeWebhookBodyBytes = 512 * 1024;

    /// <summary>Every JSON request of the API is a few hundred bytes; 64 KiB leaves room and nothing more.</summary>
    public long MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>Open connections at most; beyond it Kestrel closes new ones at once (a browser or the sidecar reuses its connections).</summary>
    public long MaxConcurrentConnections { get; set; } = 4096;

    /// <summary>
    /// Connections the kernel queues for Kestrel to accept (capped by <c>net.core.somaxconn</c>). When a
    /// burst of new connections overflows it, the kernel drops their handshakes and each client waits
    /// for its TCP retransmission, 1 s and then 3 s: seconds of latency for a buyer the app never saw.
    /// </summary>
    public int ListenBacklog { get; set; } = 512;

    /// <summary>Upgraded (WebSocket) connections at most; the API has none, so few.</summary>
    public long MaxConcurrentUpgradedConnections { get; set; } = 64;

    /// <summary>Requests multiplexed on one HTTP/2 connection (a sidecar's) at once; more wait for a stream.</summary>
    public int MaxStreamsPerConnection { get; set; } = 100;
}

/// <summary>
/// Error answers that leak nothing, in every environment: no stack trace, request header, token or
/// connection string; a problem <c>type</c>, a title and, for a malformed body or query parameter, the offending name.
/// Developer detail stays in the logs (the developer exception page would echo every header,
/// the caller's bearer token included, and is never reached).
/// </summary>
public static partial class RequestSafetyExtensions
{
    public const string MalformedBody = "https://ticketsaga.dev/problems/malformed-body";
    public const string MalformedBodyTitle = "The request body is malformed";
    public const string NotTheExpectedJson = "The body is not the JSON this endpoint expects.";
    public const string InvalidParameter = "https://ticketsaga.dev/problems/invalid-parameter";
    public const string BodyTooLarge = "https://ticketsaga.dev/problems/body-too-large";
    public const string UnsupportedMediaType = "https://ticketsaga.dev/problems/unsupported-media-type";
    public const string RequestTimeout = "https://ticketsaga.dev/problems/request-timeout";
    public const string UnsupportedMediaTypeTitle = "Unsupported media type";
    public const string NotJsonInUtf8 = "The body must be JSON in UTF-8 (Content-Type: application/json).";
    public const string InternalError = "https://ticketsaga.dev/problems/internal-error";

    /// <summary>Part of <see cref="ServiceDefaultsExtensions.AddServiceDefaults"/>: every app limits bodies and answers errors the same way.</summary>
    internal static IHostApplicationBuilder AddRequestSafety(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RequestLimits>()
            .BindConfiguration(RequestLimits.SectionName)
            .Validate(limits => limits.MaxBodyBytes > 0, "RequestLimits:MaxBodyBytes must be positive")
            .Validate(limits => limits.MaxConcurrentConnections > 0, "RequestLimits:MaxConcurrentConnections must be positive")
            .Validate(limits => limits.ListenBacklog > 0, "RequestLimits:ListenBacklog must be positive")
            .Validate(limits => limits.MaxConcurrentUpgradedConnections > 0, "RequestLimits:MaxConcurrentUpgradedConnections must be positive")
            .Validate(limits => limits.MaxStreamsPerConnection > 0, "RequestLimits:MaxStreamsPerConnection must be positive")
            .ValidateOnStart();
        builder.Services.AddOptions<Microsoft.AspNetCore.Server.Kestrel.Core.KestrelServerOptions>().Configure<IOptions<RequestLimits>>(
            (kestrel, limits) =>
            {
                kestrel.Limits.MaxRequestBodySize = limits.Value.MaxBodyBytes;
                kestrel.Limits.MaxConcurrentConnections = limits.Value.MaxConcurrentConnections;
                kestrel.Limits.MaxConcurrentUpgradedConnections = limits.Value.MaxConcurrentUpgradedConnections;
                kestrel.Limits.Http2.MaxStreamsPerConnection = limits.Value.MaxStreamsPerConnection;
            });
        builder.Services.AddOptions<SocketTransportOptions>().Configure<IOptions<RequestLimits>>(
            (sockets, limits) => sockets.Backlog = limits.Value.ListenBacklog);
        // Malformed bodies throw in every environment (not only Development), so the handler below answers them.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.Services.AddExceptionHandler<SafeExceptionHandler>();
        // Routing refuses a body that is not JSON before any handler runs, with a bare 415 that the status code page fills in.
        builder.Services.Configure<ProblemDetailsOptions>(options => options.CustomizeProblemDetails += context =>
        {
            if (context.ProblemDetails.Status == StatusCodes.Status415UnsupportedMediaType)
            {
                (context.ProblemDetails.Type, context.ProblemDetails.Title, context.ProblemDetails.Detail) =
                    (UnsupportedMediaType, UnsupportedMediaTypeTitle, NotJsonInUtf8);
            }
        });
        return builder;
    }

    /// <summary>
    /// First in the pipeline: inside the developer exception page, so that page never answers. Only
    /// <c>Diagnostics:ShowExceptionDetails=true</c> in Development lets it answer again (a developer's
    /// explicit opt-in; never set by `ticketsaga up`, dapr.yaml or the chart).
    /// </summary>
    public static WebApplication UseRequestSafety(this WebApplication app)
    {
        if (!(app.Environment.IsDevelopment() && app.Configuration.GetValue<bool>("Diagnostics:ShowExceptionDetails")))
        {
            app.UseExceptionHandler();
        }

        return app;
    }

    private sealed partial class SafeExceptionHandler(IProblemDetailsService problems, ILogger<SafeExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
        {
            var problem = exception switch
            {
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => new ProblemDetails
                {
                    Status = StatusCodes.Status413PayloadTooLarge, Type = BodyTooLarge, Title = "The request body is too large",
                },
                BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout } => new ProblemDetails
                {
                    Status = StatusCodes.Status408RequestTimeout, Type = RequestTimeout, Title = "The request body came too slowly",
                    Detail = "The body arrived below the server's minimum data rate.",
                },
                BadHttpRequestException bad when ParameterOf(bad) is ({ } parameter, var missing) => new ProblemDetails
                {
                    Status = bad.StatusCode, Type = InvalidParameter, Title = "A request parameter is invalid",
                    Detail = missing ? $"'{parameter}' is required." : NotOfTheExpectedType(parameter),
                },
                BadHttpRequestException bad => new ProblemDetails
                {
                    Status = bad.StatusCode, Type = MalformedBody, Title = MalformedBodyTitle,
                    Detail = FieldOf(bad) is { } field ? NotOfTheExpectedType(field) : NotTheExpectedJson,
                },
                _ => new ProblemDetails { Status = StatusCodes.Status500InternalServerError, Type = InternalError, Title = "Something went wrong on our side" },
            };
            if (problem.Status == StatusCodes.Status500InternalServerError)
            {
                LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
            }
            else
            {
                LogRefused(logger, context.Request.Method, context.Request.Path, exception.InnerException?.Message ?? exception.Message);
            }

            context.Response.StatusCode = problem.Status!.Value;
            return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem });
        }

        private static string NotOfTheExpectedType(string name) => $"'{name}' does not have the expected type or format.";

        /// <summary>The JSON property that failed to bind, from the serializer's path (<c>$.qty</c> → <c>qty</c>).</summary>
        private static string? FieldOf(BadHttpRequestException exception) =>
            exception.InnerException is JsonException { Path: { Length: > 2 } path } ? path.TrimStart('$', '.') : null;

        /// <summary>
        /// The query, route or header parameter that failed to bind or was missing, from the framework's message
        /// (its value is not echoed back); a body is answered as a malformed body.
        /// </summary>
        private static (string? Name, bool Missing) ParameterOf(BadHttpRequestException exception) =>
            ParameterBinding().Match(exception.Message) is { Success: true } match
                ? (match.Groups["name"].Value, match.Groups["missing"].Success)
                : (null, false);

        [GeneratedRegex("""^(?:Failed to bind parameter "[^"]* (?<name>[^" ]+)" from "|Required parameter "[^"]* (?<name>[^" ]+)" was not provided from (?<missing>query string|route|header)\.)""", RegexOptions.CultureInvariant)]
        private static partial Regex ParameterBinding();

        [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception answering {Method} {Path}")]
        private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);

        [LoggerMessage(Level = LogLevel.Information, Message = "Refused {Method} {Path}: {Reason}")]
        private static partial void LogRefused(ILogger logger, string method, string path, string reason);
    }
}
