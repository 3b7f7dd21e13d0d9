using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Dapr.Actors;
using TicketSaga.Runtime.Tests.SampleApp;

namespace TicketSaga.Runtime.Tests;

public sealed class ActorTests(SampleAppFixture fixture) : IClassFixture<SampleAppFixture>
{
    private static string NewId() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task ActorProxy_calls_keep_state_across_calls_and_deactivations()
    {
        var id = NewId();
        var counter = fixture.App.Counter(id);

        Assert.Equal(2, await counter.IncrementAsync(2));
        await fixture.App.Journal.WaitForAsync($"deactivated:{id}");

        Assert.Equal(5, await counter.IncrementAsync(3));
        Assert.Equal(5, await counter.GetAsync());
    }

    [Fact]
    public async Task Any_sidecar_reaches_the_app_hosting_the_actor_type()
    {
        var id = NewId();
        var elsewhere = await fixture.AddSidecarAsync("caller-" + NewId()[..8]);

        await fixture.App.Counter(id, via: elsewhere).IncrementAsync(7);

        Assert.Equal(7, await fixture.App.Counter(id).GetAsync());
    }

    [Fact]
    public async Task Another_apps_sidecar_may_call_an_actor_but_not_touch_its_state_timers_or_reminders()
    {
        var cancel = TestContext.Current.CancellationToken;
        var id = NewId();
        await fixture.App.Counter(id).IncrementAsync(4);
        var elsewhere = await fixture.AddSidecarAsync("other-" + NewId()[..8]);
        using var other = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{elsewhere.App.HttpPort}/v1.0/actors/CounterActor/{id}/") };
        using var host = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{fixture.App.Sidecar.App.HttpPort}/v1.0/actors/CounterActor/{id}/") };
        var reminder = new StringContent("""{"dueTime":"0s","period":""}""");

        // As daprd answers them (pkg/api/http/actors.go, pkg/actors/reminders, timers and state).
        await AssertDaprErrorAsync(await other.PutAsync("reminders/forged", reminder, cancel), HttpStatusCode.Forbidden, "ERR_ACTOR_REMINDER_NON_HOSTED");
        await AssertDaprErrorAsync(await other.GetAsync("reminders/forged", cancel), HttpStatusCode.Forbidden, "ERR_ACTOR_REMINDER_NON_HOSTED");
        await AssertDaprErrorAsync(await other.DeleteAsync("reminders/forged", cancel), HttpStatusCode.Forbidden, "ERR_ACTOR_REMINDER_NON_HOSTED");
        await AssertDaprErrorAsync(await other.PutAsync("timers/forged", new StringContent("""{"dueTime":"0s","period":""}"""), cancel),
            HttpStatusCode.InternalServerError, "ERR_ACTOR_TIMER_CREATE");
        await AssertDaprErrorAsync(await other.PostAsync("state", new StringContent("""[{"operation":"upsert","request":{"key":"count","value":1000}}]"""), cancel),
            HttpStatusCode.BadRequest, "ERR_ACTOR_INSTANCE_MISSING");
        using var othersRead = await other.GetAsync("state/count", cancel);
        using var hostsRead = await host.GetAsync("state/count", cancel);

        Assert.Equal(HttpStatusCode.NoContent, othersRead.StatusCode);
        Assert.Equal(("4", HttpStatusCode.OK), (await hostsRead.Content.ReadAsStringAsync(cancel), hostsRead.StatusCode));
        Assert.Equal(7, await fixture.App.Counter(id, via: elsewhere).IncrementAsync(3));
        await fixture.App.Journal.WaitForAsync($"deactivated:{id}");
        Assert.Equal(7, await fixture.App.Counter(id).GetAsync());
    }

    [Fact]
    public async Task A_method_name_cannot_reach_the_apps_reminder_callback()
    {
        var cancel = TestContext.Current.CancellationToken;
        var id = NewId();
        await fixture.App.Counter(id).IncrementAsync(1);
        var elsewhere = await fixture.AddSidecarAsync("other-" + NewId()[..8]);
        using var other = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{elsewhere.App.HttpPort}/v1.0/actors/CounterActor/{id}/") };
        var forged = """{"data":"Zm9yZ2Vk","dueTime":"0s","period":""}""";

        using var slash = await other.PutAsync("method/remind/forged", new StringContent(forged), cancel);
        using var escaped = await other.PutAsync("method/remind%2Fforged", new StringContent(forged), cancel);

        Assert.Equal(HttpStatusCode.NotFound, slash.StatusCode);
        Assert.False(escaped.IsSuccessStatusCode);
        Assert.Equal(2, await fixture.App.Counter(id).IncrementAsync(1));
        Assert.DoesNotContain(fixture.App.Journal.Entries, e => e.StartsWith($"reminder:{id}:", StringComparison.Ordinal));
    }

    private static async Task AssertDaprErrorAsync(HttpResponseMessage response, HttpStatusCode status, string errorCode)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal(errorCode, (await response.Content.ReadFromJsonAsync<JsonElement>(TestContext.Current.CancellationToken)).GetProperty("errorCode").GetString());
        }
    }

    [Fact]
    public async Task Concurrent_calls_on_one_actor_never_overlap_but_calls_on_different_actors_do()
    {
        var journal = fixture.App.Journal;
        var oneActor = fixture.App.Counter(NewId());
        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => oneActor.HoldTurnAsync(100)));
        Assert.Equal(1, journal.MostConcurrentTurnsOnOneActor);

        await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => fixture.App.Counter(NewId()).HoldTurnAsync(300)));
        Assert.Equal(1, journal.MostConcurrentTurnsOnOneActor);
        Assert.True(journal.MostConcurrentTurnsOverall > 1, "calls on different actors ran one at a time");
    }

    [Fact]
    public async Task Actor_exceptions_reach_the_caller()
    {
        var failure = await Assert.ThrowsAsync<ActorMethodInvocationException>(() => fixture.App.Counter(NewId()).FailAsync("sold out"));

        Assert.Contains("sold out", failure.InnerException?.Message ?? failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_timer_calls_back_its_actor()
    {
        var id = NewId();

        await fixture.App.Counter(id).StartTimerAsync("tick", TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100));

        await fixture.App.Journal.WaitForAsync($"timer:{id}:tick", times: 3);
    }

    [Fact]
    public async Task A_one_shot_reminder_fires_once_and_a_periodic_one_repeats()
    {
        var id = NewId();
        var counter = fixture.App.Counter(id);
        var journal = fixture.App.Journal;

        await counter.RemindAsync("expire", TimeSpan.FromMilliseconds(100), Timeout.InfiniteTimeSpan);
        await counter.RemindAsync("heartbeat", TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(150));

        await journal.WaitForAsync($"reminder:{id}:heartbeat:payload-heartbeat", times: 4);
        await counter.ForgetReminderAsync("heartbeat");
        Assert.Equal(1, journal.Count($"reminder:{id}:expire:payload-expire"));
    }

    [Fact]
    public async Task Getting_a_reminder_that_was_never_registered_answers_an_empty_reminder()
    {
        using var http = new HttpClient();
        var sidecar = fixture.App.Sidecar.App;

        using var response = await http.GetAsync(
            new Uri($"http://127.0.0.1:{sidecar.HttpPort}/v1.0/actors/CounterActor/{NewId()}/reminders/never-registered"), TestContext.Current.CancellationToken);

        // daprd 1.16 turns the scheduler's NotFound into an empty reminder, not an error and not null.
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Metadata_reports_the_actor_runtime_and_the_active_actors_of_the_types_the_app_hosts()
    {
        var cancel = TestContext.Current.CancellationToken;
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{fixture.App.Sidecar.App.HttpPort}") };
        using var dapr = fixture.App.Sidecar.CreateDaprClient();
        var busy = fixture.App.Counter(NewId()).HoldTurnAsync(3000);

        // The held turn keeps one CounterActor active while the metadata is read.
        JsonElement actorRuntime = default;
        await TestSupport.EventuallyAsync(async () =>
        {
            actorRuntime = (await http.GetFromJsonAsync<JsonElement>(new Uri("/v1.0/metadata", UriKind.Relative), cancel)).GetProperty("actorRuntime");
            return actorRuntime.TryGetProperty("activeActors", out var active) && active.EnumerateArray().Any(a => a.TryGetProperty("count", out _));
        }, "an active CounterActor in the metadata");
        var viaGrpc = await dapr.GetMetadataAsync(cancel);
        await busy;

        Assert.Equal("RUNNING", actorRuntime.GetProperty("runtimeStatus").GetString());
        Assert.True(actorRuntime.GetProperty("hostReady").GetBoolean());
        Assert.Equal("placement: connected", actorRuntime.GetProperty("placement").GetString());
        var counters = Assert.Single(actorRuntime.GetProperty("activeActors").EnumerateArray());
        Assert.Equal("CounterActor", counters.GetProperty("type").GetString());
        Assert.True(counters.GetProperty("count").GetInt32() >= 1);
        Assert.Equal("CounterActor", Assert.Single(viaGrpc.Actors).Type);

        // A sidecar whose app never listens never places its types: daprd's INITIALIZING, host not ready.
        var idle = await fixture.AddSidecarAsync("idle-" + NewId()[..8]);
        using var idleHttp = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{idle.App.HttpPort}") };
        var idleRuntime = (await idleHttp.GetFromJsonAsync<JsonElement>(new Uri("/v1.0/metadata", UriKind.Relative), cancel)).GetProperty("actorRuntime");
        Assert.Equal("INITIALIZING", idleRuntime.GetProperty("runtimeStatus").GetString());
        Assert.False(idleRuntime.GetProperty("hostReady").GetBoolean());
        Assert.False(idleRuntime.TryGetProperty("placement", out _));
    }

    [Fact]
    public async Task A_call_for_an_actor_type_no_app_hosts_fails_with_Dapr_error()
    {
        using var http = new HttpClient();
        var sidecar = fixture.App.Sidecar.App;

        using var response = await http.PutAsync(
            new Uri($"http://127.0.0.1:{sidecar.HttpPort}//v1.0/actors/NoSuchActor/1/method/Anything"),
            new ByteArrayContent([]), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("ERR_ACTOR_INSTANCE_MISSING", await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }
}
