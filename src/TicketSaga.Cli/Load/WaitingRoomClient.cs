using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace TicketSaga.Cli.Load;

/// <summary>The answer a buyer finally got to one POST /orders, after any stay in the waiting room.</summary>
/// <param name="FirstAnswerAt">Stopwatch timestamp of the first answer: a seat, sold out, an error, or a queue place.</param>
/// <param name="AnsweredAt">Stopwatch timestamp of the last answer (the one in Status and Body).</param>
/// <param name="QueueVisits">How many waiting-room answers came before it (0: admitted at once).</param>
/// <param name="FirstPosition">The place in the queue the first waiting-room answer gave.</param>
internal sealed record ReserveAnswer(
    HttpStatusCode Status, string Body, string? ProblemType, long FirstAnswerAt, long AnsweredAt, int QueueVisits, int? FirstPosition)
{
    public bool Queued => QueueVisits > 0;

    /// <summary>Still a waiting-room answer: the buyer stopped waiting before being let in.</summary>
    public bool StillQueued => WaitingRoomClient.IsWaitingRoom(Status, ProblemType);
}

/// <summary>
/// The gateway's waiting room as a browser meets it: a buyer not admitted yet gets 503 with
/// Retry-After and a ProblemDetails whose type ends in <c>waiting-room</c>, with their
/// <c>position</c> and a <c>queue_token</c>; they come back after Retry-After with the same
/// POST /orders carrying <c>Queue-Token</c>, until they get a seat, sold out or another answer.
/// </summary>
internal static class WaitingRoomClient
{
    public const string QueueTokenHeader = "Queue-Token";

    /// <summary>When the gateway sends no usable Retry-After.</summary>
    private static readonly TimeSpan DefaultRetryAfter = TimeSpan.FromSeconds(1);

    public static bool IsWaitingRoom(HttpStatusCode status, string? problemType) =>
        status == HttpStatusCode.ServiceUnavailable && problemType?.EndsWith("waiting-room", StringComparison.Ordinal) == true;

    /// <param name="newRequest">Makes the same request again for every visit (a request message is sent only once).</param>
    /// <param name="maxWait">How long the buyer waits in the queue at most, from the first answer.</param>
    public static async Task<ReserveAnswer> SendAsync(
        HttpClient http, Func<HttpRequestMessage> newRequest, TimeSpan maxWait, CancellationToken cancellationToken)
    {
        string? queueToken = null;
        long? firstAnswerAt = null;
        int? firstPosition = null;
        for (var visits = 0; ; visits++)
        {
            using var request = newRequest();
            if (queueToken is not null)
            {
                request.Headers.Add(QueueTokenHeader, queueToken);
            }

            using var response = await http.SendAsync(request, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var answeredAt = Stopwatch.GetTimestamp();
            firstAnswerAt ??= answeredAt;
            var problem = Problem.Parse(body);
            var answer = new ReserveAnswer(response.StatusCode, body, problem.Type, firstAnswerAt.Value, answeredAt, visits, firstPosition);
            if (!IsWaitingRoom(response.StatusCode, problem.Type) || problem.QueueToken is null)
            {
                return answer;
            }

            queueToken = problem.QueueToken;
            firstPosition ??= problem.Position;
            var wait = RetryAfter(response) ?? DefaultRetryAfter;
            if (Stopwatch.GetElapsedTime(firstAnswerAt.Value) + wait > maxWait)
            {
                return answer with { QueueVisits = visits + 1, FirstPosition = firstPosition };
            }

            await Task.Delay(wait, cancellationToken);
        }
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) => response.Headers.RetryAfter switch
    {
        { Delta: { } delta } => delta,
        { Date: { } date } => date - DateTimeOffset.UtcNow is { } left && left > TimeSpan.Zero ? left : TimeSpan.Zero,
        _ => null,
    };

    /// <summary>The parts of a ProblemDetails the buyer acts on; nothing for a body that is not one.</summary>
    internal readonly record struct Problem(string? Type, int? Position, string? QueueToken)
    {
        public static Problem Parse(string body)
        {
            if (!body.AsSpan().TrimStart().StartsWith("{"))
            {
                return default;
            }

            try
            {
                using var problem = JsonDocument.Parse(body);
                var root = problem.RootElement;
                return new Problem(
                    root.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String ? type.GetString() : null,
                    root.TryGetProperty("position", out var position) && position.ValueKind == JsonValueKind.Number && position.TryGetInt32(out var place) ? place : null,
                    root.TryGetProperty("queue_token", out var token) && token.ValueKind == JsonValueKind.String ? token.GetString() : null);
            }
            catch (JsonException)
            {
                return default;
            }
        }
    }
}
