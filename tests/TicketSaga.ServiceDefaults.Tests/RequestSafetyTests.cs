using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class RequestSafetyTests
{
    [Theory]
    [InlineData("/things?page=seven", "'page' does not have the expected type or format.")]
    [InlineData("/things", "'page' is required.")]
    [InlineData("/things?page=1&size=big", "'size' does not have the expected type or format.")]
    public async Task A_query_parameter_missing_or_of_the_wrong_type_is_named_and_its_value_not_echoed(string path, string detail)
    {
        await using var app = await StartAsync();
        using var http = StartedApps.ClientOf(app);

        using var response = await http.GetAsync(path, TestContext.Current.CancellationToken);

        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(RequestSafetyExtensions.InvalidParameter, problem.GetProperty("type").GetString());
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("seven", body, StringComparison.Ordinal);
        Assert.DoesNotContain("big", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_field_of_the_wrong_type_stays_a_malformed_body()
    {
        await using var app = await StartAsync();
        using var http = StartedApps.ClientOf(app);

        using var response = await http.PostAsync("/things", new StringContent("""{"count":"many"}""", null, "application/json"), TestContext.Current.CancellationToken);

        var problem = await ProblemAsync(response);
        Assert.Equal(RequestSafetyExtensions.MalformedBody, problem.GetProperty("type").GetString());
        Assert.Equal("'count' does not have the expected type or format.", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_body_that_is_not_json_is_an_unsupported_media_type()
    {
        await using var app = await StartAsync();
        using var http = StartedApps.ClientOf(app);

        using var response = await http.PostAsync("/things", new StringContent("count=1", null, "text/plain"), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        var problem = await ProblemAsync(response);
        Assert.Equal(RequestSafetyExtensions.UnsupportedMediaType, problem.GetProperty("type").GetString());
        Assert.Equal(RequestSafetyExtensions.NotJsonInUtf8, problem.GetProperty("detail").GetString());
    }

    private static async Task<WebApplication> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.AddServiceDefaults();
        var app = builder.Build();
        app.UseRequestSafety();
        app.UseStatusCodePages();
        app.MapGet("/things", (int page, int? size) => $"{page} {size}");
        app.MapPost("/things", (Thing thing) => thing.Count);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return app;
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken)).RootElement;

    private sealed record Thing(int Count);
}
