using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace TicketSaga.Runtime.Actors;

/// <summary>
/// Fires persisted reminders for the actor types that are placed, each as a turn of its actor. A
/// reminder that came due while the runtime was down fires right after start-up. One-shot
/// reminders are deleted after a successful call, periodic ones rescheduled; a failed call is
/// retried with exponential back-off and never dropped.
/// </summary>
public sealed partial class ReminderScheduler(
    ReminderStore store, ActorPlacement placement, ActiveActors actors, AppActorChannel channel, ILogger<ReminderScheduler> logger) : BackgroundService
{
    private static readonly TimeSpan LongestWait = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<(ActorKey, string), Task> _inFlight = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Makes the scheduler look at the table now (a reminder was registered).</summary>
    public void Wake()
    {
        lock (_gate)
        {
            _wake.TrySetResult();
            _wake = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            Task wake;
            lock (_gate)
            {
                wake = _wake.Task;
            }

            var placementChanged = placement.WhenChangedAsync();
            var wait = LongestWait;
            try
            {
                wait = await FireDueAsync(stoppingToken);
            }
            catch (NpgsqlException ex)
            {
                LogDueRemindersUnreadable(logger, ex);
            }

            await Task.WhenAny(wake, placementChanged, Task.Delay(wait, stoppingToken));
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        await Task.WhenAll(_inFlight.Values).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    /// <summary>Starts every due reminder not already firing; answers how long to sleep.</summary>
    private async Task<TimeSpan> FireDueAsync(CancellationToken stoppingToken)
    {
        var types = placement.Hosts.Select(h => h.ActorType).ToArray();
        if (types.Length == 0)
        {
            return LongestWait;
        }

        foreach (var reminder in await store.DueAsync(types, 200, stoppingToken))
        {
            var key = (reminder.Actor, reminder.Name);
            if (placement.Find(reminder.Actor.Type) is { } host && !_inFlight.ContainsKey(key))
            {
                _inFlight[key] = Task.Run(() => FireAsync(reminder, host, stoppingToken), CancellationToken.None);
            }
        }

        var next = await store.NextFireAtAsync(types, stoppingToken);
        var wait = next is null ? LongestWait : next.Value - DateTimeOffset.UtcNow;

        // Due but already firing: their completion wakes the loop.
        return wait <= TimeSpan.Zero ? (_inFlight.IsEmpty ? TimeSpan.Zero : LongestWait) : (wait < LongestWait ? wait : LongestWait);
    }

    private async Task FireAsync(ActorReminder reminder, ActorHost host, CancellationToken stoppingToken)
    {
        try
        {
            bool succeeded;
            try
            {
                succeeded = await actors.RunTurnAsync(
                    reminder.Actor, () => channel.InvokeReminderAsync(host, reminder.Actor, reminder.Name, reminder.CallbackBody, stoppingToken), stoppingToken);
            }
            catch (HttpRequestException ex)
            {
                LogReminderAppUnreachable(logger, ex, reminder.Name, reminder.Actor, host.App.AppId);
                succeeded = false;
            }

            if (succeeded)
            {
                // The app has run the reminder: record that even while stopping, or it fires twice.
                var (next, repetitionsLeft) = NextFiring(reminder);
                await store.CompleteAsync(reminder, next, repetitionsLeft, CancellationToken.None);
            }
            else
            {
                var delay = TimeSpan.FromMilliseconds(250 * Math.Pow(2, Math.Min(reminder.FailedAttempts, 10)));
                var retryAt = DateTimeOffset.UtcNow + (delay < LongestRetryDelay ? delay : LongestRetryDelay);
                LogReminderFailed(logger, reminder.Name, reminder.Actor, reminder.FailedAttempts + 1, retryAt);
                await store.RetryLaterAsync(reminder, retryAt, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: the reminder is still due in the table and fires after the next start.
        }
        catch (NpgsqlException ex)
        {
            LogFiringNotRecorded(logger, ex, reminder.Name, reminder.Actor);
        }
        finally
        {
            _inFlight.TryRemove((reminder.Actor, reminder.Name), out _);
            Wake();
        }
    }

    /// <summary>When a reminder fires next after a successful call; null when it is done.</summary>
    private static (DateTimeOffset? Next, int? RepetitionsLeft) NextFiring(ActorReminder reminder)
    {
        var now = DateTimeOffset.UtcNow;
        var schedule = ActorSchedule.Parse(null, reminder.Period, null, now);
        var repetitionsLeft = reminder.RepetitionsLeft - 1;
        if (schedule.Period is null || repetitionsLeft <= 0 || reminder.ExpiresAt <= now)
        {
            return (null, null);
        }

        var next = schedule.NextAfter(reminder.NextFireAt, now);
        return next >= reminder.ExpiresAt ? (null, null) : (next, repetitionsLeft);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading due reminders failed; trying again")]
    private static partial void LogDueRemindersUnreadable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reminder {Reminder} of actor {Actor} could not reach app {App}")]
    private static partial void LogReminderAppUnreachable(ILogger logger, Exception exception, string reminder, ActorKey actor, string app);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reminder {Reminder} of actor {Actor} failed (attempt {Attempt}); retrying at {RetryAt}")]
    private static partial void LogReminderFailed(ILogger logger, string reminder, ActorKey actor, int attempt, DateTimeOffset retryAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording the firing of reminder {Reminder} of actor {Actor} failed; it fires again")]
    private static partial void LogFiringNotRecorded(ILogger logger, Exception exception, string reminder, ActorKey actor);
}
