using Dapr.Actors;
using Dapr.Actors.Runtime;

namespace TicketSaga.Runtime.Tests.SampleApp;

public interface ICounterActor : IActor
{
    Task<int> IncrementAsync(int by);

    Task<int> GetAsync();

    Task HoldTurnAsync(int milliseconds);

    Task StartTimerAsync(string name, TimeSpan dueTime, TimeSpan period);

    Task RemindAsync(string name, TimeSpan dueTime, TimeSpan period);

    Task ForgetReminderAsync(string name);

    Task FailAsync(string message);
}

/// <summary>A small actor exercising what the runtime must serve: state, turns, timers, reminders.</summary>
public sealed class CounterActor(ActorHost host, Journal journal) : Actor(host), ICounterActor, IRemindable
{
    public async Task<int> IncrementAsync(int by)
    {
        var count = await StateManager.GetOrAddStateAsync("count", 0) + by;
        await StateManager.SetStateAsync("count", count);
        return count;
    }

    public Task<int> GetAsync() => StateManager.GetOrAddStateAsync("count", 0);

    public async Task HoldTurnAsync(int milliseconds)
    {
        journal.EnterTurn(Id.GetId());
        await Task.Delay(milliseconds);
        journal.ExitTurn(Id.GetId());
    }

    public Task StartTimerAsync(string name, TimeSpan dueTime, TimeSpan period) =>
        RegisterTimerAsync(name, nameof(OnTimerAsync), System.Text.Encoding.UTF8.GetBytes(name), dueTime, period);

    public Task OnTimerAsync(byte[] data)
    {
        journal.Record($"timer:{Id.GetId()}:{System.Text.Encoding.UTF8.GetString(data)}");
        return Task.CompletedTask;
    }

    public Task RemindAsync(string name, TimeSpan dueTime, TimeSpan period) =>
        RegisterReminderAsync(name, System.Text.Encoding.UTF8.GetBytes("payload-" + name), dueTime, period);

    public Task ForgetReminderAsync(string name) => UnregisterReminderAsync(name);

    public Task ReceiveReminderAsync(string reminderName, byte[] state, TimeSpan dueTime, TimeSpan period)
    {
        journal.Record($"reminder:{Id.GetId()}:{reminderName}:{System.Text.Encoding.UTF8.GetString(state)}");
        return Task.CompletedTask;
    }

    public Task FailAsync(string message) => throw new InvalidOperationException(message);

    protected override Task OnDeactivateAsync()
    {
        journal.Record($"deactivated:{Id.GetId()}");
        return Task.CompletedTask;
    }
}
