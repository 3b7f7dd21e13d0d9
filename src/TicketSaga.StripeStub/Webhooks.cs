using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace TicketSaga.StripeStub;

/// <summary>An event as Stripe sends it to a webhook endpoint: its id, type and the exact JSON.</summary>
public sealed record StubEvent(string Id, string Type, string Json);

/// <summary>One POST of an event to the webhook URL and what the receiver answered (0: no answer).</summary>
public sealed record WebhookDelivery(string EventId, string Type, int Attempt, int StatusCode);

/// <summary>The <c>Stripe-Signature</c> scheme: <c>t=&lt;unix&gt;,v1=hex(HMAC-SHA256(secret, "{t}.{payload}"))</c>.</summary>
public static class WebhookSignature
{
    public static string Header(string payload, string secret, DateTimeOffset timestamp)
    {
        var t = timestamp.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes($"{t}.{payload}"));
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }
}

/// <summary>
/// Every event the stub raises, and their delivery to the configured webhook URL: signed, POSTed in
/// the order raised, retried with the configured delays while the receiver answers non-2xx or does
/// not answer. <see cref="Hold"/> keeps new events back until <see cref="Release"/>, so a test can
/// decide when (and in which order) they arrive.
/// </summary>
public sealed partial class EventLog : IAsyncDisposable
{
    private readonly StripeStubOptions _options;
    private readonly ILogger _logger;
    private readonly StubJournal _journal;
    private readonly Channel<StubEvent> _outbox = Channel.CreateUnbounded<StubEvent>(new UnboundedChannelOptions { SingleReader = true });
    private readonly RecentItems<StubEvent> _events;
    private readonly RecentItems<WebhookDelivery> _deliveries;
    private readonly List<StubEvent> _held = [];
    private readonly Lock _holdGate = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<Task, byte> _retries = new();
    private readonly Task _sender;
    private bool _holding;

    /// <param name="journal">Events it holds are known again; those not yet delivered are sent again, as Stripe retries them.</param>
    public EventLog(StripeStubOptions options, ILogger logger, StubJournal journal)
    {
        _options = options;
        _logger = logger;
        _journal = journal;
        _events = new(options.EventHistory);
        _deliveries = new(options.EventHistory);
        WebhookUrl = options.WebhookUrl;
        var delivered = journal.Records.Select(r => r["delivered"]?.GetValue<string>()).OfType<string>().ToHashSet(StringComparer.Ordinal);
        foreach (var saved in journal.Records.Select(r => r["event"]).OfType<JsonObject>())
        {
            var stubEvent = new StubEvent(saved["id"]!.GetValue<string>(), saved["type"]!.GetValue<string>(), saved["json"]!.GetValue<string>());
            _events.Add(stubEvent);
            if (!delivered.Contains(stubEvent.Id))
            {
                _outbox.Writer.TryWrite(stubEvent);
            }
        }

        _sender = Task.Run(SendAsync);
    }

    /// <summary>Where events go; settable after start (the receiver often starts after the stub).</summary>
    public Uri? WebhookUrl { get; set; }

    /// <summary>The events raised in the last <see cref="StripeStubOptions.EventHistory"/>, oldest first.</summary>
    public IReadOnlyList<StubEvent> Events => [.. _events.Items];

    /// <summary>The deliveries made in the last <see cref="StripeStubOptions.EventHistory"/>, oldest first.</summary>
    public IReadOnlyList<WebhookDelivery> Deliveries => [.. _deliveries.Items];

    internal void Raise(string type, JsonObject dataObject)
    {
        var json = new JsonObject
        {
            ["id"] = Ledger.NewId("evt"),
            ["object"] = "event",
            ["api_version"] = _options.ApiVersion,
            ["created"] = Ledger.Now(),
            ["data"] = new JsonObject { ["object"] = dataObject },
            ["livemode"] = false,
            ["pending_webhooks"] = 1,
            ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["type"] = type,
        };
        var stubEvent = new StubEvent(json["id"]!.GetValue<string>(), type, json.ToJsonString());
        _journal.Append("event", new JsonObject { ["id"] = stubEvent.Id, ["type"] = type, ["json"] = stubEvent.Json });
        _events.Add(stubEvent);
        _events.Forget();
        lock (_holdGate)
        {
            if (_holding)
            {
                _held.Add(stubEvent);
                return;
            }
        }

        _outbox.Writer.TryWrite(stubEvent);
    }

    /// <summary>Keeps events raised from now on back from the webhook URL.</summary>
    public void Hold()
    {
        lock (_holdGate)
        {
            _holding = true;
        }
    }

    /// <summary>Sends the held events (in the given order, default: as raised) and stops holding.</summary>
    public void Release(Func<IReadOnlyList<StubEvent>, IEnumerable<StubEvent>>? order = null)
    {
        lock (_holdGate)
        {
            _holding = false;
            foreach (var held in order is null ? _held : order(_held))
            {
                _outbox.Writer.TryWrite(held);
            }

            _held.Clear();
        }
    }

    /// <summary>Sends an event again, as the dashboard's "Resend" does.</summary>
    public void Resend(string eventId) =>
        _outbox.Writer.TryWrite(Events.FirstOrDefault(e => e.Id == eventId)
            ?? throw new InvalidOperationException($"Event {eventId} is not among those raised in the last {_options.EventHistory}."));

    private async Task SendAsync()
    {
        await foreach (var stubEvent in _outbox.Reader.ReadAllAsync(_stopping.Token))
        {
            if (!await TryDeliverAsync(stubEvent, attempt: 1))
            {
                var retry = RetryAsync(stubEvent);
                _retries[retry] = 0;
                _ = retry.ContinueWith(t => _retries.TryRemove(t, out _), TaskScheduler.Default);
            }
        }
    }

    private async Task RetryAsync(StubEvent stubEvent)
    {
        var attempt = 1;
        foreach (var delay in _options.WebhookRetryDelays)
        {
            await Task.Delay(delay, _stopping.Token);
            if (await TryDeliverAsync(stubEvent, ++attempt))
            {
                return;
            }
        }

        LogWebhookNotAccepted(_logger, stubEvent.Id, stubEvent.Type, attempt);
    }

    private async Task<bool> TryDeliverAsync(StubEvent stubEvent, int attempt)
    {
        if (WebhookUrl is not { } url)
        {
            return true;
        }

        var status = 0;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(stubEvent.Json, Encoding.UTF8, "application/json") };
            request.Headers.Add("Stripe-Signature", WebhookSignature.Header(stubEvent.Json, _options.WebhookSecret, DateTimeOffset.UtcNow));
            request.Headers.UserAgent.ParseAdd("Stripe/1.0 (+https://stripe.com/docs/webhooks)");
            using var response = await _http.SendAsync(request, _stopping.Token);
            status = (int)response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !_stopping.IsCancellationRequested)
        {
            LogWebhookFailed(_logger, stubEvent.Id, url, ex.Message);
        }

        // An event's deliveries come after it, so they are forgotten no sooner than the event.
        _deliveries.Add(new WebhookDelivery(stubEvent.Id, stubEvent.Type, attempt, status));
        _deliveries.Forget();
        var accepted = status is >= 200 and < 300;
        if (accepted)
        {
            _journal.Append("delivered", stubEvent.Id);
        }

        return accepted;
    }

    public async ValueTask DisposeAsync()
    {
        _outbox.Writer.TryComplete();
        await _stopping.CancelAsync();
        try
        {
            await Task.WhenAll([_sender, .. _retries.Keys]);
        }
        catch (OperationCanceledException)
        {
            // Stopping: undelivered events go with the in-memory state.
        }

        _http.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook {EventId} ({Type}) not accepted after {Attempts} attempts")]
    private static partial void LogWebhookNotAccepted(ILogger logger, string eventId, string type, int attempts);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Webhook {EventId} to {Url} failed: {Error}")]
    private static partial void LogWebhookFailed(ILogger logger, string eventId, Uri url, string error);
}
