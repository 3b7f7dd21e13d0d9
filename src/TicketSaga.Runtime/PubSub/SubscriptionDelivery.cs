using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Grpc.Core;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Invocation;

namespace TicketSaga.Runtime.PubSub;

/// <summary>
/// Delivers the app's subscribed topics from the durable log, as daprd would: CloudEvents POSTed to
/// the subscription's route (a gRPC app's OnTopicEvent), Dapr's SUCCESS / RETRY / DROP answers, retries by the resiliency policy
/// of the pub/sub component's inbound direction, then the dead-letter topic and the audit.
/// Order holds per partition key (the next message of a key waits for the previous one to be acked
/// or dead-lettered); different keys go in parallel.
/// </summary>
internal sealed partial class SubscriptionDelivery(
    AppDescriptor app,
    RuntimeResources resources,
    NpgsqlDataSource dataSource,
    DeliverySignal published,
    SidecarSubscriptions registry,
    DeliveryFaults faults,
    GrpcAppChannel grpcApp,
    ILogger<SubscriptionDelivery> logger) : BackgroundService
{
    private const int MaxConcurrentDeliveries = 32;
    private const int PendingWindow = 1000;
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(60);

    private readonly DeliveryQueue _queue = new(dataSource, app.AppId);
    private readonly ConcurrentDictionary<long, byte> _inFlight = new();
    private readonly ConcurrentQueue<long> _acked = new();
    private readonly DeliverySignal _completed = new();
    private readonly HttpClient _http = new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
    private Dictionary<(string PubsubName, string Topic), (SubscriptionDefinition Subscription, List<(EventMatch Match, string Path)> Rules)> _subscriptions = [];
    private long _appUnavailableUntilTicks;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var discovered = await new SubscriptionDiscovery(app, resources, _http, grpcApp, logger).DiscoverAsync(stoppingToken);
        registry.Set(discovered);
        if (discovered.Count == 0)
        {
            return;
        }

        foreach (var subscription in discovered)
        {
            // As Dapr's Kafka component: a new consumer group starts at the newest message unless the component says oldest.
            var fromOldest = string.Equals(resources.PubSubFor(app.AppId, subscription.PubsubName)?.MetadataValue("initialOffset"), "oldest", StringComparison.OrdinalIgnoreCase);
            await _queue.JoinAsync(subscription.PubsubName, subscription.Topic, fromOldest, stoppingToken);
        }

        _subscriptions = discovered.ToDictionary(
            s => (s.PubsubName, s.Topic),
            s => (s, s.Rules.Select(r => (EventMatch.Parse(r.Match), r.Path)).ToList()));
        var topics = _subscriptions.Keys.ToList();
        LogSubscribed(logger, app.AppId, string.Join(", ", topics.Select(t => $"{t.PubsubName}/{t.Topic}")));

        // What each topic's last hand-over saw of the publish signal; a topic is handed over again when
        // that changed, when its last hand-over filled the window, and at every full poll (publishes of
        // other processes sharing the log are seen only then).
        var handedOverAt = new Dictionary<(string PubsubName, string Topic), long>();
        var nextFullPollAt = DateTime.MinValue;
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before reading, so a publish that lands during the reads still wakes the next wait.
            var wake = Task.WhenAny(published.NextAsync(), _completed.NextAsync());
            var wait = Poll;
            try
            {
                var unavailableFor = new DateTime(Interlocked.Read(ref _appUnavailableUntilTicks), DateTimeKind.Utc) - DateTime.UtcNow;
                var free = unavailableFor > TimeSpan.Zero ? 0 : MaxConcurrentDeliveries - _inFlight.Count;
                var fullPoll = DateTime.UtcNow >= nextFullPollAt;
                var versions = topics.ToDictionary(t => t, published.VersionOf);
                var handOver = topics.Where(t => fullPoll || handedOverAt.GetValueOrDefault(t, -1) != versions[t]).ToList();
                // In flight first, acks second: a delivery queues its ack before it leaves the in-flight
                // set, so each message is either excluded as in flight or removed by this poll's ack.
                long[] inFlight = [.. _inFlight.Keys];
                var acked = TakeAcks();
                (List<PendingDelivery> Due, DateTimeOffset? NextDueAt, List<(string PubsubName, string Topic)> Filled) polled;
                try
                {
                    polled = await _queue.PollAsync(topics, handOver, acked, inFlight, Math.Max(0, free), PendingWindow, stoppingToken);
                }
                catch
                {
                    ReturnAcks(acked);
                    throw;
                }

                var (due, nextDueAt, filled) = polled;
                foreach (var topic in handOver)
                {
                    handedOverAt[topic] = filled.Contains(topic) ? -1 : versions[topic];
                }

                if (fullPoll)
                {
                    nextFullPollAt = DateTime.UtcNow + Poll;
                }

                wait = nextFullPollAt - DateTime.UtcNow;

                foreach (var delivery in due)
                {
                    _inFlight[delivery.Seq] = 0;
                }

                foreach (var batch in Batches(due))
                {
                    _ = DeliverAndReleaseAsync(batch, stoppingToken);
                }

                if (unavailableFor > TimeSpan.Zero)
                {
                    wait = unavailableFor;
                }
                else if (nextDueAt is { } next && next - DateTimeOffset.UtcNow < wait)
                {
                    wait = next - DateTimeOffset.UtcNow;
                }
            }
            catch (Exception ex) when (ex is NpgsqlException or TimeoutException && !stoppingToken.IsCancellationRequested)
            {
                LogLogUnreadable(logger, ex, app.AppId);
            }

            if (wait > TimeSpan.Zero)
            {
                await Task.WhenAny(wake, Task.Delay(wait, stoppingToken));
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        while (!_inFlight.IsEmpty && !cancellationToken.IsCancellationRequested)
        {
            await Task.WhenAny(_completed.NextAsync(), Task.Delay(100, cancellationToken));
        }

        if (TakeAcks() is { Length: > 0 } acked)
        {
            try
            {
                await _queue.AckAsync(acked, cancellationToken);
            }
            catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
            {
                LogAcksLostAtStop(logger, ex, acked.Length, app.AppId);
            }
        }
    }

    private long[] TakeAcks()
    {
        var acked = new List<long>();
        while (_acked.TryDequeue(out var seq))
        {
            acked.Add(seq);
        }

        return [.. acked];
    }

    private void ReturnAcks(long[] acked)
    {
        foreach (var seq in acked)
        {
            _acked.Enqueue(seq);
        }
    }

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    /// <summary>
    /// One message per request; for a <c>bulkSubscribe</c> subscription up to its maxMessagesCount of the
    /// due heads together (each is the head of its partition key, so a batch keeps every key's order).
    /// </summary>
    private IEnumerable<PendingDelivery[]> Batches(List<PendingDelivery> due) =>
        due.GroupBy(d => (d.PubsubName, d.Topic)).SelectMany(topic => _subscriptions[topic.Key].Subscription.BulkSubscribe is { } bulk
            ? topic.Chunk(bulk.MaxMessagesCount)
            : topic.Select(d => new[] { d }));

    private async Task DeliverAndReleaseAsync(PendingDelivery[] batch, CancellationToken stoppingToken)
    {
        var delivery = batch[0];
        try
        {
            if (_subscriptions[(delivery.PubsubName, delivery.Topic)].Subscription.BulkSubscribe is null)
            {
                await DeliverAsync(delivery, stoppingToken);
            }
            else
            {
                await DeliverBulkAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the message stays pending and is delivered again after the restart.
        }
        catch (Exception ex)
        {
            LogDeliveryFailedInRuntime(logger, ex, delivery.Seq, app.AppId);
            await Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None);
        }
        finally
        {
            foreach (var released in batch)
            {
                _inFlight.TryRemove(released.Seq, out _);
            }

            _completed.Notify();
        }
    }

    private async Task DeliverAsync(PendingDelivery delivery, CancellationToken stoppingToken)
    {
        var (subscription, rules) = _subscriptions[(delivery.PubsubName, delivery.Topic)];
        var inbound = resources.InboundFor(app.AppId, delivery.PubsubName);
        var attemptedAt = DateTimeOffset.UtcNow;
        using var cloudEvent = JsonDocument.Parse(delivery.CloudEventJson);
        if (await DroppedAsExpiredAsync(delivery, cloudEvent.RootElement, subscription, attemptedAt, stoppingToken))
        {
            return;
        }

        var route = rules.FirstOrDefault(r => r.Match.Matches(cloudEvent.RootElement)).Path ?? subscription.DefaultRoute;
        if (route is null)
        {
            await _queue.DeadLetterAsync(delivery, attemptedAt, DeadLetterReasons.RouteNotFound,
                "no routing rule matched the event and the subscription has no default route", subscription.DeadLetterTopic, stoppingToken);
            return;
        }

        if (faults.MaxReorderDelay > TimeSpan.Zero)
        {
            await Task.Delay(Random.Shared.NextDouble() * faults.MaxReorderDelay, stoppingToken);
        }

        Outcome outcome;
        try
        {
            var body = CloudEventEnvelope.ForSubscriber(delivery.CloudEventJson, cloudEvent.RootElement, subscription.RawPayload);
            var traceParent = cloudEvent.RootElement.TryGetProperty("traceparent", out var trace) ? trace.GetString() : null;
            outcome = await SendAsync(route, body, traceParent, inbound.Timeout ?? DefaultTimeout, stoppingToken);
            if (faults.DeliverTwice && outcome.Kind == OutcomeKind.Ack)
            {
                // As after a lost ack: the handler must recognise the message and change nothing.
                var again = await SendAsync(route, body, traceParent, inbound.Timeout ?? DefaultTimeout, stoppingToken);
                LogDeliveredTwice(logger, app.AppId, delivery.Seq, again.Kind.ToString());
            }
        }
        catch (HttpRequestException ex) when (ex.StatusCode is null)
        {
            AppUnreachable(ex);
            return;
        }

        await RecordAsync(delivery, subscription, inbound, attemptedAt, outcome, stoppingToken);
    }

    /// <summary>
    /// Dapr's bulk delivery: one request per route with the batch's entries, answered per entry; each entry's
    /// SUCCESS / RETRY / DROP then counts as that message's own answer (an entry left out is retried).
    /// </summary>
    private async Task DeliverBulkAsync(PendingDelivery[] batch, CancellationToken stoppingToken)
    {
        var (subscription, rules) = _subscriptions[(batch[0].PubsubName, batch[0].Topic)];
        var inbound = resources.InboundFor(app.AppId, subscription.PubsubName);
        var attemptedAt = DateTimeOffset.UtcNow;
        var routed = new List<BulkEntry>();
        foreach (var delivery in batch)
        {
            using var cloudEvent = JsonDocument.Parse(delivery.CloudEventJson);
            if (await DroppedAsExpiredAsync(delivery, cloudEvent.RootElement, subscription, attemptedAt, stoppingToken))
            {
                continue;
            }

            if ((rules.FirstOrDefault(r => r.Match.Matches(cloudEvent.RootElement)).Path ?? subscription.DefaultRoute) is not { } route)
            {
                await _queue.DeadLetterAsync(delivery, attemptedAt, DeadLetterReasons.RouteNotFound,
                    "no routing rule matched the event and the subscription has no default route", subscription.DeadLetterTopic, stoppingToken);
                continue;
            }

            routed.Add(new BulkEntry(delivery, route, CloudEventEnvelope.ForSubscriber(delivery.CloudEventJson, cloudEvent.RootElement, subscription.RawPayload)));
        }

        foreach (var group in routed.GroupBy(r => r.Route))
        {
            Dictionary<string, Outcome> outcomes;
            try
            {
                var timeout = inbound.Timeout ?? DefaultTimeout;
                outcomes = app.Protocol == AppChannelProtocol.Grpc
                    ? await OnBulkTopicEventAsync(group.Key, [.. group], subscription, timeout, stoppingToken)
                    : await PostBulkAsync(group.Key, [.. group], subscription, timeout, stoppingToken);
            }
            catch (HttpRequestException ex) when (ex.StatusCode is null)
            {
                AppUnreachable(ex);
                return;
            }

            foreach (var entry in group)
            {
                var outcome = outcomes.GetValueOrDefault(EntryId(entry.Delivery), new Outcome(OutcomeKind.Retry, "the app's bulk answer has no status for this entry"));
                await RecordAsync(entry.Delivery, subscription, inbound, attemptedAt, outcome, stoppingToken);
            }
        }
    }

    /// <summary>
    /// daprd checks a message's expiration before routing it (pkg/runtime/subscription/subscription.go); a rawPayload
    /// subscription sees the message wrapped in a new CloudEvent without one, so it never expires there.
    /// </summary>
    private async Task<bool> DroppedAsExpiredAsync(
        PendingDelivery delivery, JsonElement cloudEvent, SubscriptionDefinition subscription, DateTimeOffset attemptedAt, CancellationToken stoppingToken)
    {
        if (subscription.RawPayload || !CloudEventEnvelope.HasExpired(cloudEvent, attemptedAt))
        {
            return false;
        }

        var error = $"the message expired at {cloudEvent.GetProperty("expiration").GetString()} before it was delivered";
        LogExpired(logger, app.AppId, delivery.Seq, delivery.Topic, error);
        await _queue.DeadLetterAsync(delivery, attemptedAt, DeadLetterReasons.Expired, error, subscription.DeadLetterTopic, stoppingToken);
        return true;
    }

    /// <summary>
    /// Over HTTP: one POST of <c>{id, entries: [{entryId, event, contentType, metadata}], topic, pubsubname,
    /// type}</c>, answered <c>{statuses: [{entryId, status}]}</c>; a failed status answers for every entry.
    /// </summary>
    private async Task<Dictionary<string, Outcome>> PostBulkAsync(string route, BulkEntry[] entries, SubscriptionDefinition subscription, TimeSpan timeout, CancellationToken stoppingToken)
    {
        var request = new JsonObject
        {
            ["id"] = Guid.NewGuid().ToString(),
            ["entries"] = new JsonArray([.. entries.Select(e => (JsonNode)new JsonObject
            {
                ["entryId"] = EntryId(e.Delivery),
                ["event"] = JsonNode.Parse(e.Event),
                ["contentType"] = CloudEventEnvelope.ContentType,
                ["metadata"] = new JsonObject(),
            })]),
            ["metadata"] = new JsonObject(),
            ["pubsubname"] = subscription.PubsubName,
            ["topic"] = subscription.Topic,
            ["type"] = BulkEventType,
        };
        var (posted, body) = await PostAsync(route, request.ToJsonString(), "application/json", null, timeout, stoppingToken);
        return body is null ? entries.ToDictionary(e => EntryId(e.Delivery), _ => posted) : EntryStatuses(body);
    }

    /// <summary>
    /// To a gRPC app, as daprd does: <c>AppCallback.OnBulkTopicEvent</c> with each entry's CloudEvent, and
    /// <c>AppCallbackAlpha.OnBulkTopicEventAlpha1</c> when the app does not implement it. Unimplemented by
    /// both drops the whole batch (daprd's answer: the app cannot take bulk events); other failures retry it.
    /// </summary>
    private async Task<Dictionary<string, Outcome>> OnBulkTopicEventAsync(string route, BulkEntry[] entries, SubscriptionDefinition subscription, TimeSpan timeout, CancellationToken stoppingToken)
    {
        var outcomes = new Dictionary<string, Outcome>(StringComparer.Ordinal);
        var request = new TopicEventBulkRequest { Id = Guid.NewGuid().ToString(), PubsubName = subscription.PubsubName, Topic = subscription.Topic, Type = BulkEventType, Path = route };
        foreach (var entry in entries)
        {
            using var cloudEvent = JsonDocument.Parse(entry.Event);
            try
            {
                request.Entries.Add(new TopicEventBulkRequestEntry
                {
                    EntryId = EntryId(entry.Delivery),
                    CloudEvent = GrpcAppChannel.CloudEventFor(cloudEvent.RootElement),
                    ContentType = CloudEventEnvelope.ContentType,
                });
            }
            catch (FormatException ex)
            {
                outcomes[EntryId(entry.Delivery)] = new Outcome(OutcomeKind.Retry, $"data_base64 of the event is not base64: {ex.Message}");
            }
        }

        if (request.Entries.Count == 0)
        {
            // Nothing the app could be given: an empty batch would only be an answer for nothing.
            return outcomes;
        }

        Outcome whole;
        try
        {
            var callback = grpcApp.For(app);
            TopicEventBulkResponse response;
            try
            {
                response = await callback.OnBulkTopicEventAsync(request, GrpcAppChannel.Options(app, null, stoppingToken, timeout));
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
            {
                response = await callback.OnBulkTopicEventAlpha1Async(request, GrpcAppChannel.Options(app, null, stoppingToken, timeout));
            }

            foreach (var status in response.Statuses)
            {
                outcomes[status.EntryId] = OutcomeOf(status.Status, "for this entry");
            }

            return outcomes;
        }
        catch (RpcException ex) when (ex.Status.DebugException is HttpRequestException { StatusCode: null } unreachable)
        {
            throw unreachable;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            whole = new Outcome(OutcomeKind.Drop, $"neither OnBulkTopicEvent nor OnBulkTopicEventAlpha1 is implemented: {ex.Status.Detail}");
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            whole = new Outcome(OutcomeKind.Retry, $"OnBulkTopicEvent did not answer within {timeout.TotalMilliseconds} ms");
        }
        catch (RpcException ex)
        {
            whole = new Outcome(OutcomeKind.Retry, $"OnBulkTopicEvent answered {ex.StatusCode}: {Truncate(ex.Status.Detail)}");
        }

        foreach (var entry in request.Entries)
        {
            outcomes[entry.EntryId] = whole;
        }

        return outcomes;
    }

    private const string BulkEventType = "com.dapr.event.sent.bulk";

    /// <param name="Event">The CloudEvent as the subscriber gets it (<see cref="CloudEventEnvelope.ForSubscriber"/>).</param>
    private sealed record BulkEntry(PendingDelivery Delivery, string Route, string Event);

    /// <summary>daprd's reading of a gRPC app's SUCCESS / RETRY / DROP; an unknown status is retried.</summary>
    private static Outcome OutcomeOf(TopicEventResponse.Types.TopicEventResponseStatus status, string about) => status switch
    {
        TopicEventResponse.Types.TopicEventResponseStatus.Success => new Outcome(OutcomeKind.Ack, ""),
        TopicEventResponse.Types.TopicEventResponseStatus.Retry => new Outcome(OutcomeKind.Retry, $"the app answered RETRY {about}".TrimEnd()),
        TopicEventResponse.Types.TopicEventResponseStatus.Drop => new Outcome(OutcomeKind.Drop, $"the app answered DROP {about}".TrimEnd()),
        var other => new Outcome(OutcomeKind.Retry, $"the app answered unknown status '{other}' {about}".TrimEnd()),
    };

    private static string EntryId(PendingDelivery delivery) => delivery.Seq.ToString(CultureInfo.InvariantCulture);

    /// <summary>The app's per-entry answers; an unreadable answer leaves every entry to be retried.</summary>
    private static Dictionary<string, Outcome> EntryStatuses(string body)
    {
        var statuses = new Dictionary<string, Outcome>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(body);
            foreach (var entry in document.RootElement.GetProperty("statuses").EnumerateArray())
            {
                // Exactly as daprd compares them: "success" is an unknown status, retried.
                var status = entry.GetProperty("status").GetString();
                statuses[entry.GetProperty("entryId").GetString()!] = status switch
                {
                    "SUCCESS" => new Outcome(OutcomeKind.Ack, ""),
                    "DROP" => new Outcome(OutcomeKind.Drop, "the app answered DROP for this entry"),
                    "RETRY" => new Outcome(OutcomeKind.Retry, "the app answered RETRY for this entry"),
                    var other => new Outcome(OutcomeKind.Retry, $"the app answered unknown status '{other}' for this entry"),
                };
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or KeyNotFoundException)
        {
            return [];
        }

        return statuses;
    }

    private void AppUnreachable(HttpRequestException ex)
    {
        // The app is not listening (restarting): not an attempt; the message waits for it.
        Interlocked.Exchange(ref _appUnavailableUntilTicks, DateTime.UtcNow.AddMilliseconds(250).Ticks);
        LogAppUnreachable(logger, app.AppId, ex.Message);
    }

    /// <summary>What the app's answer means for the message: acked, dead-lettered now, or retried by the policy then dead-lettered.</summary>
    private async Task RecordAsync(PendingDelivery delivery, SubscriptionDefinition subscription, ResiliencyTarget inbound, DateTimeOffset attemptedAt, Outcome outcome, CancellationToken stoppingToken)
    {
        switch (outcome.Kind)
        {
            case OutcomeKind.Ack:
                // Recorded by the next poll, with every other ack since the previous one, in its round trip.
                _acked.Enqueue(delivery.Seq);
                break;
            case OutcomeKind.Drop:
                // As daprd does (dapr/dapr#6282): a dropped message goes to the dead-letter topic at once, no retry.
                LogDropped(logger, app.AppId, delivery.Seq, delivery.Topic, outcome.Error);
                await _queue.DeadLetterAsync(delivery, attemptedAt, DeadLetterReasons.DroppedByApp, outcome.Error, subscription.DeadLetterTopic, stoppingToken);
                break;
            case OutcomeKind.RouteNotFound:
                LogNoRoute(logger, app.AppId, delivery.Topic, outcome.Error);
                await _queue.DeadLetterAsync(delivery, attemptedAt, DeadLetterReasons.RouteNotFound, outcome.Error, subscription.DeadLetterTopic, stoppingToken);
                break;
            default:
                var retry = inbound.Retry ?? RetryPolicy.Default;
                var attemptsMade = delivery.Attempts + 1;
                if (retry.AllowsRetryAfter(attemptsMade))
                {
                    await _queue.ScheduleRetryAsync(delivery.Seq, attemptedAt, retry.DelayBeforeRetry(attemptsMade), outcome.Error, stoppingToken);
                }
                else
                {
                    LogDeadLettered(logger, delivery.Seq, delivery.Topic, attemptsMade, app.AppId, subscription.DeadLetterTopic ?? "(no topic, audit only)", outcome.Error);
                    await _queue.DeadLetterAsync(delivery, attemptedAt, DeadLetterReasons.RetriesExhausted, outcome.Error, subscription.DeadLetterTopic, stoppingToken);
                }

                break;
        }
    }

    /// <summary>One event to the app: POSTed to its route, or to OnTopicEvent for a gRPC app.</summary>
    private async Task<Outcome> SendAsync(string route, string body, string? traceParent, TimeSpan timeout, CancellationToken stoppingToken)
    {
        if (app.Protocol == AppChannelProtocol.Grpc)
        {
            return await OnTopicEventAsync(route, body, traceParent, timeout, stoppingToken);
        }

        var (posted, answer) = await PostAsync(route, body, CloudEventEnvelope.ContentType, traceParent, timeout, stoppingToken);
        return answer is null ? posted : StatusOf(answer);
    }

    /// <summary>
    /// daprd's OnTopicEvent outcomes: SUCCESS, RETRY and DROP as over HTTP; Unimplemented is a gRPC app's
    /// 404 (no handler); any other failed status, or no answer within the timeout, is retried.
    /// </summary>
    private async Task<Outcome> OnTopicEventAsync(string route, string body, string? traceParent, TimeSpan timeout, CancellationToken stoppingToken)
    {
        TopicEventRequest request;
        using (var cloudEvent = JsonDocument.Parse(body))
        {
            try
            {
                request = GrpcAppChannel.TopicEventFor(cloudEvent.RootElement, route);
            }
            catch (FormatException ex)
            {
                return new Outcome(OutcomeKind.Retry, $"data_base64 of the event is not base64: {ex.Message}");
            }
        }

        var headers = traceParent is { Length: > 0 } ? new Grpc.Core.Metadata { { "traceparent", traceParent } } : null;
        try
        {
            var response = await grpcApp.For(app).OnTopicEventAsync(request, GrpcAppChannel.Options(app, headers, stoppingToken, timeout));
            return OutcomeOf(response.Status, "");
        }
        catch (RpcException ex) when (ex.Status.DebugException is HttpRequestException { StatusCode: null } unreachable)
        {
            // Not listening (restarting): handled as on HTTP, not an attempt.
            throw unreachable;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
        {
            return new Outcome(OutcomeKind.RouteNotFound, $"OnTopicEvent answered Unimplemented: {ex.Status.Detail}");
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.DeadlineExceeded)
        {
            return new Outcome(OutcomeKind.Retry, $"OnTopicEvent did not answer within {timeout.TotalMilliseconds} ms");
        }
        catch (RpcException ex)
        {
            return new Outcome(OutcomeKind.Retry, $"OnTopicEvent answered {ex.StatusCode}: {Truncate(ex.Status.Detail)}");
        }
    }

    /// <summary>POSTs to the app: a failed status is the outcome; a 2xx answers with its body, for the caller to read.</summary>
    private async Task<(Outcome Outcome, string? Body)> PostAsync(string route, string body, string contentType, string? traceParent, TimeSpan timeout, CancellationToken stoppingToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(app.AppAddress, route.StartsWith('/') ? route : "/" + route))
        {
            Content = new StringContent(body, Encoding.UTF8, contentType),
        };
        request.Content.Headers.ContentType!.CharSet = null;
        app.Authenticate(request);
        if (traceParent is { Length: > 0 })
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeoutSource.CancelAfter(timeout);
        try
        {
            using var response = await _http.SendAsync(request, timeoutSource.Token);
            var answer = await response.Content.ReadAsStringAsync(timeoutSource.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return (new Outcome(OutcomeKind.RouteNotFound, $"POST {request.RequestUri!.AbsolutePath} answered 404 Not Found"), null);
            }

            if (!response.IsSuccessStatusCode)
            {
                return (new Outcome(OutcomeKind.Retry, $"POST {request.RequestUri!.AbsolutePath} answered {(int)response.StatusCode} {response.ReasonPhrase}: {Truncate(answer)}"), null);
            }

            return (new Outcome(OutcomeKind.Ack, ""), answer);
        }
        catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return (new Outcome(OutcomeKind.Retry, $"POST {route} did not answer within {timeout.TotalMilliseconds} ms"), null);
        }
    }

    /// <summary>Dapr's app response contract: a 2xx without a JSON status is a success.</summary>
    private static Outcome StatusOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !document.RootElement.TryGetProperty("status", out var status))
            {
                return new Outcome(OutcomeKind.Ack, "");
            }

            return status.GetString() switch
            {
                null or "" or "SUCCESS" => new Outcome(OutcomeKind.Ack, ""),
                "RETRY" => new Outcome(OutcomeKind.Retry, "the app answered RETRY"),
                "DROP" => new Outcome(OutcomeKind.Drop, document.RootElement.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String
                    ? $"the app answered DROP: {Truncate(reason.GetString()!)}"
                    : "the app answered DROP"),
                var other => new Outcome(OutcomeKind.Retry, $"the app answered unknown status '{other}'"),
            };
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return new Outcome(OutcomeKind.Ack, "");
        }
    }

    private static string Truncate(string text) => text.Length <= 500 ? text : text[..500] + "…";

    private enum OutcomeKind
    {
        Ack,
        Retry,
        Drop,
        RouteNotFound,
    }

    private readonly record struct Outcome(OutcomeKind Kind, string Error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Delivered message {Seq} to {AppId} again (fault DeliverTwice): {Outcome}")]
    private static partial void LogDeliveredTwice(ILogger logger, string appId, long seq, string outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "App {AppId} subscribed to {Topics}")]
    private static partial void LogSubscribed(ILogger logger, string appId, string topics);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pub/sub delivery to {AppId} could not read the log; trying again")]
    private static partial void LogLogUnreadable(ILogger logger, Exception exception, string appId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Acks of {Count} messages to {AppId} were not recorded at stop; they are delivered again")]
    private static partial void LogAcksLostAtStop(ILogger logger, Exception exception, int count, string appId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery of message {Seq} to {AppId} failed inside the runtime; it stays pending")]
    private static partial void LogDeliveryFailedInRuntime(ILogger logger, Exception exception, long seq, string appId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "App {AppId} is not reachable for delivery: {Error}")]
    private static partial void LogAppUnreachable(ILogger logger, string appId, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App {AppId} dropped message {Seq} of {Topic}: {Error}")]
    private static partial void LogDropped(ILogger logger, string appId, long seq, string topic, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dropping expired message {Seq} of {Topic} for {AppId}: {Error}")]
    private static partial void LogExpired(ILogger logger, string appId, long seq, string topic, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "App {AppId} has no route for topic {Topic}: {Error}")]
    private static partial void LogNoRoute(ILogger logger, string appId, string topic, string? error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {Seq} of {Topic} failed {Attempts} times for {AppId}; dead-lettered to {DeadLetterTopic}: {Error}")]
    private static partial void LogDeadLettered(ILogger logger, long seq, string topic, int attempts, string appId, string deadLetterTopic, string? error);
}
