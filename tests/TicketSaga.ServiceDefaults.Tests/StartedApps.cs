using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace TicketSaga.ServiceDefaults.Tests;

internal static class StartedApps
{
    /// <summary>A client of a started app that listens on one address (port 0: the one Kestrel chose).</summary>
    public static HttpClient ClientOf(WebApplication app) =>
        new() { BaseAddress = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()) };
}
