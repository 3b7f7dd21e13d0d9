using Microsoft.Extensions.Logging.Abstractions;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Tests.SampleApp;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

public sealed class ReminderRestartTests(PostgresServer postgres)
{
    [Fact]
    public async Task Reminders_survive_a_runtime_restart_and_overdue_ones_fire_right_away()
    {
        var options = await NewRuntimeOptionsAsync();
        var id = Guid.NewGuid().ToString("N");

        await using (var runtime = await EmbeddedRuntime.StartAsync(options, NullLoggerFactory.Instance, TestContext.Current.CancellationToken))
        await using (var app = await SampleApp.SampleApp.StartAsync(runtime, "reminder-app"))
        {
            var counter = app.Counter(id);
            await counter.RemindAsync("heartbeat", TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300));
            await app.Journal.WaitForAsync($"reminder:{id}:heartbeat:payload-heartbeat");

            // Registered last and due after the runtime stops: it can only fire after the restart.
            await counter.RemindAsync("overdue", TimeSpan.FromSeconds(1), Timeout.InfiniteTimeSpan);
        }

        // Down long enough for the one-shot reminder to be overdue when the runtime is back.
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);

        await using (var runtime = await EmbeddedRuntime.StartAsync(options, NullLoggerFactory.Instance, TestContext.Current.CancellationToken))
        await using (var app = await SampleApp.SampleApp.StartAsync(runtime, "reminder-app"))
        {
            await app.Journal.WaitForAsync($"reminder:{id}:overdue:payload-overdue");
            await app.Journal.WaitForAsync($"reminder:{id}:heartbeat:payload-heartbeat", times: 2);

            await app.Counter(id).ForgetReminderAsync("heartbeat");
            await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
            var heartbeats = app.Journal.Count($"reminder:{id}:heartbeat:payload-heartbeat");
            await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);

            Assert.Equal(heartbeats, app.Journal.Count($"reminder:{id}:heartbeat:payload-heartbeat"));
            Assert.Equal(1, app.Journal.Count($"reminder:{id}:overdue:payload-overdue"));
        }
    }

    private async Task<RuntimeOptions> NewRuntimeOptionsAsync()
    {
        var connectionString = await postgres.CreateDatabaseAsync("runtime");
        return new RuntimeOptions { PostgresConnectionString = connectionString, Database = new Npgsql.NpgsqlConnectionStringBuilder(connectionString).Database! };
    }
}
