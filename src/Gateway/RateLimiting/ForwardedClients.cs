using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace TicketSaga.Gateway.RateLimiting;

/// <summary>
/// Section <c>ForwardedHeaders</c>: the proxies in front of the gateway (an ingress controller)
/// whose X-Forwarded-For is believed, as addresses (<c>KnownProxies</c>) or CIDR ranges
/// (<c>KnownNetworks</c>, e.g. the pod network the ingress controller runs in). A client's address
/// then names its anonymous rate-limit bucket; from anyone else the header is ignored, so a caller
/// cannot pick a fresh bucket per request. Unset: only loopback proxies are believed.
/// </summary>
public sealed record ForwardedClientSettings
{
    public const string Section = "ForwardedHeaders";

    public IReadOnlyList<string> KnownProxies { get; init; } = [];

    public IReadOnlyList<string> KnownNetworks { get; init; } = [];

    /// <summary>How many proxies deep the client's address is read (one ingress: 1).</summary>
    public int ForwardLimit { get; init; } = 1;
}

public static class ForwardedClients
{
    public static IServiceCollection AddForwardedClients(this IServiceCollection services, IConfiguration configuration)
    {
        var settings = configuration.GetSection(ForwardedClientSettings.Section).Get<ForwardedClientSettings>() ?? new ForwardedClientSettings();
        return services.Configure<ForwardedHeadersOptions>(options =>
        {
            options.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            options.ForwardLimit = settings.ForwardLimit;
            foreach (var proxy in settings.KnownProxies)
            {
                options.KnownProxies.Add(IPAddress.Parse(proxy));
            }

            foreach (var network in settings.KnownNetworks)
            {
                options.KnownIPNetworks.Add(System.Net.IPNetwork.Parse(network));
            }
        });
    }
}
