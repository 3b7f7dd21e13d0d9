using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Http;
using TicketSaga.Cli.Load;

namespace TicketSaga.Cli.Tests.Load;

/// <summary>The buyer's side of the gateway's waiting room: 503 + Retry-After + a queue place, then back with the Queue-Token.</summary>
public sealed class WaitingRoomClientTests
{
    private const string WaitingRoomType = "https://ticketsaga.dev/problems/waiting-room";

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_queued_buyer_comes_back_after_Retry_After_with_the_queue_token_and_gets_the_seat()
    {
        var visits = new ConcurrentQueue<(string? Token, string Body)>();
        await using var gateway = await LocalHttpServer.StartAsync(async context =>
        {
            var token = context.Request.Headers["Queue-Token"].FirstOrDefault();
            visits.Enqueue((token, await new StreamReader(context.Request.Body).ReadToEndAsync()));
            if (token != "q-7")
            {
                await WaitingRoomAsync(context, position: 7, token: "q-7", retryAfterSeconds: 1);
                return;
            }

            context.Response.StatusCode = StatusCodes.Status201Created;
            await context.Response.WriteAsJsonAsync(new { order_id = Guid.CreateVersion7() });
        });
        using var http = new HttpClient { BaseAddress = gateway.Address };

        var answer = await WaitingRoomClient.SendAsync(http, NewOrder, TimeSpan.FromMinutes(1), Cancel);

        Assert.Equal(HttpStatusCode.Created, answer.Status);
        Assert.Equal((1, 7), (answer.QueueVisits, answer.FirstPosition));
        Assert.True(answer.Queued);
        Assert.False(answer.StillQueued);
        Assert.InRange(Stopwatch.GetElapsedTime(answer.FirstAnswerAt, answer.AnsweredAt), TimeSpan.FromSeconds(0.95), TimeSpan.FromSeconds(10));
        Assert.Equal([(null, """{"ticket_id":"t-1","qty":1}"""), ("q-7", """{"ticket_id":"t-1","qty":1}""")], visits.ToArray());
    }

    [Fact]
    public async Task A_buyer_who_would_wait_past_their_patience_stops_with_the_queue_answer()
    {
        var visits = 0;
        await using var gateway = await LocalHttpServer.StartAsync(context =>
        {
            Interlocked.Increment(ref visits);
            return WaitingRoomAsync(context, position: 4000, token: "q-4000", retryAfterSeconds: 30);
        });
        using var http = new HttpClient { BaseAddress = gateway.Address };

        var answer = await WaitingRoomClient.SendAsync(http, NewOrder, TimeSpan.FromSeconds(5), Cancel);

        Assert.True(answer.StillQueued);
        Assert.Equal((1, 4000, 1), (answer.QueueVisits, answer.FirstPosition, visits));
    }

    [Fact]
    public async Task A_plain_503_is_an_answer_not_a_queue_place()
    {
        await using var gateway = await LocalHttpServer.StartAsync(async context =>
        {
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            context.Response.Headers.RetryAfter = "1";
            await context.Response.WriteAsJsonAsync(new { type = "https://ticketsaga.dev/problems/dependency-unavailable", status = 503 });
        });
        using var http = new HttpClient { BaseAddress = gateway.Address };

        var answer = await WaitingRoomClient.SendAsync(http, NewOrder, TimeSpan.FromMinutes(1), Cancel);

        Assert.Equal((HttpStatusCode.ServiceUnavailable, 0, false), (answer.Status, answer.QueueVisits, answer.StillQueued));
    }

    private static HttpRequestMessage NewOrder() =>
        new(HttpMethod.Post, "orders") { Content = JsonContent.Create(new { ticket_id = "t-1", qty = 1 }) };

    private static async Task WaitingRoomAsync(HttpContext context, int position, string token, int retryAfterSeconds)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.RetryAfter = retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/problem+json";
        await context.Response.WriteAsJsonAsync(new { type = WaitingRoomType, title = "You are in the queue", status = 503, position, queue_token = token });
    }
}
