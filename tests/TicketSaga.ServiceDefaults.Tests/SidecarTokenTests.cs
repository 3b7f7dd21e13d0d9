using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;

namespace TicketSaga.ServiceDefaults.Tests;

/// <summary>The routes only the sidecar calls take its app API token and nothing else.</summary>
public sealed class SidecarTokenTests
{
    private const string Token = "the-apps-own-token-7f3a";

    [Theory]
    [InlineData(null, HttpStatusCode.Unauthorized)]
    [InlineData("", HttpStatusCode.Unauthorized)]
    [InlineData("the-apps-own-token-7f3b", HttpStatusCode.Unauthorized)]
    [InlineData("the-apps-own-token-7f3", HttpStatusCode.Unauthorized)]
    [InlineData(Token, HttpStatusCode.OK)]
    public async Task Only_the_apps_own_token_passes(string? presented, HttpStatusCode expected)
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Address(app)}/events/topic");
        if (presented is not null)
        {
            request.Headers.TryAddWithoutValidation("dapr-api-token", presented);
        }

        using var client = new HttpClient();
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task The_token_twice_is_refused()
    {
        await using var app = await StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{Address(app)}/events/topic");
        request.Headers.TryAddWithoutValidation("dapr-api-token", [Token, Token]);

        using var client = new HttpClient();
        using var response = await client.SendAsync(request, TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production });
        builder.Configuration["APP_PORT"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture);
        builder.Configuration["APP_API_TOKEN"] = Token;
        builder.AddServiceDefaults();
        builder.UseAppPort(AppProtocol.Http);
        var app = builder.Build();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapPost("/events/topic", () => Results.Ok()).RequireSidecar();
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    private static string Address(WebApplication app) => app.Urls.First(url => url.Contains("127.0.0.1", StringComparison.Ordinal));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
