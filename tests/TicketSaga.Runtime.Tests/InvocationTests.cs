using System.Net;
using System.Text.Json;
using Dapr.Client;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Tests.Echo;

namespace TicketSaga.Runtime.Tests;

// InvokeMethodAsync is obsolete in the SDK but still what HTTP callers use; the sidecar must serve it.
#pragma warning disable CS0618

public sealed class InvocationTests(RuntimeFixture fixture) : IClassFixture<RuntimeFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Grpc_calls_made_with_the_invocation_invoker_reach_the_app_with_status_codes_and_trailers_intact()
    {
        var port = PortAllocator.FreePort();
        await using var app = await TestApp.StartAsync(port, web => web.MapGrpcService<EchoService>(), AppChannelProtocol.Grpc, s => s.AddGrpc());
        await fixture.AddSidecarAsync("echo-grpc", port, AppChannelProtocol.Grpc);
        var caller = await fixture.AddSidecarAsync("echo-caller");
        var echo = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker("echo-grpc", caller.GrpcEndpoint()));

        var reply = await echo.SayAsync(new SayRequest { Text = "hold 2 seats" }, cancellationToken: Cancel);
        var failure = await Assert.ThrowsAsync<RpcException>(() =>
            echo.FailAsync(new FailRequest { StatusCode = (int)StatusCode.ResourceExhausted, Reason = "sold out" }, cancellationToken: Cancel).ResponseAsync);

        Assert.Equal("hold 2 seats", reply.Text);
        Assert.Equal("echo-caller", reply.Caller);
        Assert.Equal(StatusCode.ResourceExhausted, failure.StatusCode);
        Assert.Equal("quota gone", failure.Status.Detail);
        Assert.Equal("sold out", failure.Trailers.GetValue("reason"));
    }

    [Fact]
    public async Task Grpc_calls_to_an_unknown_app_fail_at_once_with_a_clear_status()
    {
        var caller = await fixture.AddSidecarAsync("lonely-caller");
        var echo = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker("ghost-service", caller.GrpcEndpoint()));

        var failure = await Assert.ThrowsAsync<RpcException>(() => echo.SayAsync(new SayRequest { Text = "hi" }, cancellationToken: Cancel).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Equal("app id 'ghost-service' is not running in this runtime", failure.Status.Detail);
    }

    [Fact]
    public async Task Http_invocation_keeps_method_path_query_headers_and_body()
    {
        var port = PortAllocator.FreePort();
        await using var app = await TestApp.StartAsync(port, web =>
            web.MapPost("/orders/{id}/notes", async (string id, HttpRequest request) =>
            {
                var body = await JsonSerializer.DeserializeAsync<JsonElement>(request.Body);
                return Results.Json(new
                {
                    id,
                    note = body.GetProperty("note").GetString(),
                    query = request.Query["source"].ToString(),
                    caller = request.Headers["dapr-caller-app-id"].ToString(),
                }, statusCode: StatusCodes.Status201Created);
            }));
        await fixture.AddSidecarAsync("notes-http", port);
        using var dapr = (await fixture.AddSidecarAsync("notes-caller")).CreateDaprClient();

        var reply = await dapr.InvokeMethodAsync<object, JsonElement>(HttpMethod.Post, "notes-http", "orders/o-1/notes?source=web", new { note = "aisle seat" }, Cancel);

        Assert.Equal("o-1", reply.GetProperty("id").GetString());
        Assert.Equal("aisle seat", reply.GetProperty("note").GetString());
        Assert.Equal("web", reply.GetProperty("query").GetString());
        Assert.Equal("notes-caller", reply.GetProperty("caller").GetString());
    }

    [Fact]
    public async Task Http_invocation_of_an_unknown_app_answers_a_dapr_error()
    {
        using var dapr = (await fixture.AddSidecarAsync("http-lonely-caller")).CreateDaprClient();

        var failure = await Assert.ThrowsAsync<InvocationException>(() => dapr.InvokeMethodAsync(HttpMethod.Get, "ghost-http", "status", Cancel));

        Assert.Equal(HttpStatusCode.InternalServerError, failure.Response!.StatusCode);
        var error = JsonSerializer.Deserialize<JsonElement>(await failure.Response.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("ERR_DIRECT_INVOKE", error.GetProperty("errorCode").GetString());
        Assert.Equal("app id 'ghost-http' is not running in this runtime", error.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Calls_to_a_registered_app_that_is_not_listening_fail_with_unavailable()
    {
        await fixture.AddSidecarAsync("stopped-grpc", protocol: AppChannelProtocol.Grpc);
        var caller = await fixture.AddSidecarAsync("stopped-caller");
        var echo = new Echo.Echo.EchoClient(DaprClient.CreateInvocationInvoker("stopped-grpc", caller.GrpcEndpoint()));

        var failure = await Assert.ThrowsAsync<RpcException>(() => echo.SayAsync(new SayRequest { Text = "hi" }, cancellationToken: Cancel).ResponseAsync);

        Assert.Equal(StatusCode.Unavailable, failure.StatusCode);
        Assert.Contains("app id 'stopped-grpc' did not answer", failure.Status.Detail);
    }

    private sealed class EchoService : Echo.Echo.EchoBase
    {
        public override Task<SayReply> Say(SayRequest request, ServerCallContext context) =>
            Task.FromResult(new SayReply { Text = request.Text, Caller = context.RequestHeaders.GetValue("dapr-caller-app-id") ?? "" });

        public override Task<SayReply> Fail(FailRequest request, ServerCallContext context) =>
            throw new RpcException(new Status((StatusCode)request.StatusCode, "quota gone"), new Metadata { { "reason", request.Reason } });
    }
}
