using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapr;
using Dapr.Actors;
using Dapr.Actors.Runtime;
using Dapr.Client;
using Microsoft.Extensions.Options;
using TicketSaga.Contracts;

namespace TicketSaga.ExpirationService;

/// <summary>The hold timer of one order (actor id = order id).</summary>
public interface IReservationTimer : IActor
{
    /// <summary>orders.order.created: expire the hold at <paramref name="expiresAt"/> unless the order ends first.</summary>
    Task HoldUntilAsync(DateTimeOffset expiresAt);

    /// <summary>orders.order.completed / orders.order.cancelled: the hold will never expire.</summary>
    Task EndHoldAsync();
}

/// <summary>
/// A one-shot reminder at the order's expires_at that publishes expiration.order.expiration_complete.
/// The actor's state remembers how the hold ended, so a duplicate, late or out-of-order event for an
/// order that is already done schedules nothing; the reminder itself survives restarts of the runtime.
/// </summary>
public sealed partial class ReservationTimer(ActorHost host, DaprClient dapr, IOptions<ExpirationOptions> options, ILogger<ReservationTimer> logger)
    : Actor(host), IReservationTimer, IRemindable
{
    public const string ExpireHold = "expire-hold";

    private const string OutcomeKey = "outcome";
    private const string Ended = "ended";
    private const string Expired = "expired";

    /// <summary>
    /// A firing earlier than this before its expires_at is not the hold's own clock. An actor's methods are
    /// open to every app's sidecar, and a method named "remind/expire-hold" reaches this callback where the
    /// sidecar forwards it unescaped (daprd's gRPC InvokeActor), with data of the caller's choosing. Such a
    /// call naming the order's true expires_at would end the hold early; naming another moment it is refused
    /// by order-service. Were the runtime's clock this far ahead of the app's, the ignored firing costs only
    /// the message: the order's saga ends the hold on its own timer.
    /// </summary>
    private static readonly TimeSpan EarlyFiringTolerance = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait before publishing again when the pub/sub refused the expiration.</summary>
    private static readonly TimeSpan PublishRetryDelay = TimeSpan.FromSeconds(2);

    public static ActorId IdOf(Guid orderId) => new(orderId.ToString());

    /// <summary>
    /// The CloudEvent id of an order's expiration, the same on every firing, so that the consumer's
    /// inbox recognizes a re-fire as a duplicate. A name-based UUID (version 8, RFC 9562) of the order id.
    /// </summary>
    public static Guid ExpirationEventId(Guid orderId)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes($"{Topics.ExpirationComplete}/{orderId}"))[..16];
        bytes[6] = (byte)((bytes[6] & 0x0F) | 0x80);
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80);
        return new Guid(bytes, bigEndian: true);
    }

    public async Task HoldUntilAsync(DateTimeOffset expiresAt)
    {
        // A hold that already ended (completed, cancelled or expired) is never scheduled again.
        if (await HasEndedAsync())
        {
            return;
        }

        var dueIn = expiresAt - DateTimeOffset.UtcNow;
        await RegisterReminderAsync(
            ExpireHold, JsonSerializer.SerializeToUtf8Bytes(expiresAt), dueIn > TimeSpan.Zero ? dueIn : TimeSpan.Zero, Timeout.InfiniteTimeSpan);
    }

    public async Task EndHoldAsync()
    {
        await UnregisterReminderAsync(ExpireHold);
        await StateManager.TryAddStateAsync(OutcomeKey, Ended, options.Value.OutcomeRetention);
    }

    public async Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        if (reminderName != ExpireHold || await HasEndedAsync())
        {
            return;
        }

        var orderId = Guid.Parse(Id.GetId());
        var expiresAt = JsonSerializer.Deserialize<DateTimeOffset>(state);
        if (DateTimeOffset.UtcNow < expiresAt - EarlyFiringTolerance)
        {
            LogEarlyFiringIgnored(logger, orderId, expiresAt);
            return;
        }

        try
        {
            await dapr.PublishEventAsync(
                Topics.PubSub,
                Topics.ExpirationComplete,
                new ExpirationComplete(orderId, expiresAt),
                new Dictionary<string, string>
                {
                    ["partitionKey"] = orderId.ToString(),
                    ["cloudevent.id"] = ExpirationEventId(orderId).ToString(),
                });
        }
        catch (DaprException ex)
        {
            // Not lost: the same reminder fires again shortly, whatever the runtime's retry budget for failed reminders.
            LogPublishFailed(logger, ex, orderId, PublishRetryDelay);
            await RegisterReminderAsync(ExpireHold, state, PublishRetryDelay, Timeout.InfiniteTimeSpan);
            return;
        }

        await StateManager.SetStateAsync(OutcomeKey, Expired, options.Value.OutcomeRetention);
        await UnregisterReminderAsync(ExpireHold);
    }

    private Task<bool> HasEndedAsync() => StateManager.ContainsStateAsync(OutcomeKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a firing of order {OrderId}'s hold timer before its expires_at {ExpiresAt:O}")]
    private static partial void LogEarlyFiringIgnored(ILogger logger, Guid orderId, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Publishing the expiration of order {OrderId} failed; trying again in {RetryDelay}")]
    private static partial void LogPublishFailed(ILogger logger, Exception exception, Guid orderId, TimeSpan retryDelay);
}
