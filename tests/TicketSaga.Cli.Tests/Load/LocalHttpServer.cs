using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace TicketSaga.Cli.Tests.Load;

/// <summary>A real Kestrel on a free loopback port answering every request with <paramref name="answer"/>: a stand-in gateway.</summary>
internal sealed class LocalHttpServer(WebApplication web) : IAsyncDisposable
{
    public Uri Address { get; } = new(web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/");

    public static async Task<LocalHttpServer> StartAsync(RequestDelegate answer)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0));
        var web = builder.Build();
        web.Run(answer);
        await web.StartAsync();
        return new LocalHttpServer(web);
    }

    public async ValueTask DisposeAsync()
    {
        await web.StopAsync();
        await web.DisposeAsync();
    }
}
