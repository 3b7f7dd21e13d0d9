using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr.Workflow;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests;

/// <summary>Waits for a sign-off and says who signed what; its custom status says what it waits for.</summary>
public sealed class SignOffWorkflow : Workflow<string, string>
{
    public override async Task<string> RunAsync(WorkflowContext context, string requester)
    {
        context.SetCustomStatus("awaiting sign-off");
        var verdict = await context.WaitForExternalEventAsync<string>("sign-off");
        return $"{requester}: {verdict}";
    }
}

public sealed class ClosedVenueWorkflow : Workflow<string, string>
{
    public override Task<string> RunAsync(WorkflowContext context, string venue) =>
        throw new InvalidOperationException($"the venue {venue} is closed");
}

/// <summary>An app registering workflows with Dapr.Workflow only, beside a <see cref="DaprTestHost"/> sidecar.</summary>
public sealed class WorkflowHttpApiFixture(PostgresServer postgres) : IAsyncLifetime
{
    private WebApplication _app = null!;

    public DaprTestHost Host { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Host = await DaprTestHost.StartAsync("approvals", new DaprTestHostOptions { PostgresConnectionString = postgres.ConnectionString });
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(Host.AppSettings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, Host.App.AppPort));
        builder.Services.AddDaprWorkflow(options =>
        {
            options.RegisterWorkflow<SignOffWorkflow>();
            options.RegisterWorkflow<ClosedVenueWorkflow>();
        });
        _app = builder.Build();
        await _app.StartAsync();
    }

    public HttpClient CreateHttpClient() => new() { BaseAddress = Host.HttpEndpoint };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        await Host.DisposeAsync();
    }
}

/// <summary>Dapr's workflow HTTP API, driven with HttpClient only, answered as daprd answers it.</summary>
public sealed class WorkflowHttpApiTests(WorkflowHttpApiFixture dapr) : IClassFixture<WorkflowHttpApiFixture>, IDisposable
{
    private const string Beta = "/v1.0-beta1/workflows/dapr";
    private const string Stable = "/v1.0/workflows/dapr";

    private readonly HttpClient _http = dapr.CreateHttpClient();

    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    private static string NewId() => "signoff-" + Guid.NewGuid().ToString("N");

    [Theory]
    [InlineData(Beta)]
    [InlineData(Stable)]
    public async Task A_workflow_started_with_an_instance_id_runs_until_its_event_and_completes_with_its_output(string api)
    {
        var id = NewId();

        using var started = await PostAsync($"{api}/{nameof(SignOffWorkflow)}/start?instanceID={id}", "\"ada\"");
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal(id, (await started.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("instanceID").GetString());

        var running = await WaitForCustomStatusAsync(api, id);
        Assert.Equal(id, running.GetProperty("instanceID").GetString());
        Assert.Equal(nameof(SignOffWorkflow), running.GetProperty("workflowName").GetString());
        Assert.Equal("RUNNING", running.GetProperty("runtimeStatus").GetString());
        Assert.Equal("\"ada\"", Property(running, "dapr.workflow.input"));
        Assert.Equal("\"awaiting sign-off\"", Property(running, "dapr.workflow.custom_status"));
        Assert.Null(Property(running, "dapr.workflow.output"));
        var createdAt = running.GetProperty("createdAt").GetDateTimeOffset();
        Assert.InRange(createdAt, DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
        Assert.True(running.GetProperty("lastUpdatedAt").GetDateTimeOffset() >= createdAt);

        using var raised = await PostAsync($"{api}/{id}/raiseEvent/sign-off", "\"approved\"");
        Assert.Equal(HttpStatusCode.Accepted, raised.StatusCode);

        var completed = await WaitForStatusAsync(api, id, "COMPLETED");
        Assert.Equal("\"ada: approved\"", Property(completed, "dapr.workflow.output"));
        Assert.Equal("\"ada\"", Property(completed, "dapr.workflow.input"));
    }

    [Fact]
    public async Task A_workflow_started_without_an_instance_id_gets_a_fresh_one()
    {
        using var first = await PostAsync($"{Stable}/{nameof(SignOffWorkflow)}/start", "\"bob\"");
        using var second = await PostAsync($"{Stable}/{nameof(SignOffWorkflow)}/start", "\"bob\"");

        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        var id = (await first.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("instanceID").GetString()!;
        var other = (await second.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("instanceID").GetString()!;
        Assert.True(Guid.TryParse(id, out _), id);
        Assert.NotEqual(id, other);
        Assert.Equal("\"bob\"", Property(await WaitForCustomStatusAsync(Stable, id), "dapr.workflow.input"));
        await WaitForCustomStatusAsync(Stable, other);
    }

    [Fact]
    public async Task Any_component_name_and_the_alpha_path_reach_the_same_engine_as_in_daprd()
    {
        var id = await StartSignOffAsync("heidi");

        using var answer = await _http.GetAsync($"/v1.0-alpha1/workflows/any-engine/{id}", Cancel);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("\"heidi\"", Property(await answer.Content.ReadFromJsonAsync<JsonElement>(Cancel), "dapr.workflow.input"));
    }

    [Fact]
    public async Task A_paused_workflow_keeps_an_event_until_it_is_resumed()
    {
        var id = await StartSignOffAsync("carol");

        using var paused = await PostAsync($"{Beta}/{id}/pause");
        Assert.Equal(HttpStatusCode.Accepted, paused.StatusCode);
        await WaitForStatusAsync(Beta, id, "SUSPENDED");
        using var raised = await PostAsync($"{Beta}/{id}/raiseEvent/sign-off", "\"approved\"");
        Assert.Equal(HttpStatusCode.Accepted, raised.StatusCode);
        await Task.Delay(TimeSpan.FromMilliseconds(500), Cancel);
        var stillPaused = await GetAsync(Beta, id);
        Assert.Equal("SUSPENDED", stillPaused.GetProperty("runtimeStatus").GetString());
        Assert.Null(Property(stillPaused, "dapr.workflow.output"));

        using var resumed = await PostAsync($"{Beta}/{id}/resume");
        Assert.Equal(HttpStatusCode.Accepted, resumed.StatusCode);

        Assert.Equal("\"carol: approved\"", Property(await WaitForStatusAsync(Beta, id, "COMPLETED"), "dapr.workflow.output"));
    }

    [Fact]
    public async Task A_terminated_workflow_stops_waiting_and_ignores_its_event()
    {
        var id = await StartSignOffAsync("dave");

        using var terminated = await PostAsync($"{Stable}/{id}/terminate");
        Assert.Equal(HttpStatusCode.Accepted, terminated.StatusCode);
        await WaitForStatusAsync(Stable, id, "TERMINATED");

        using var late = await PostAsync($"{Stable}/{id}/raiseEvent/sign-off", "\"approved\"");
        Assert.Equal(HttpStatusCode.Accepted, late.StatusCode);
        await Task.Delay(TimeSpan.FromMilliseconds(300), Cancel);
        Assert.Equal("TERMINATED", (await GetAsync(Stable, id)).GetProperty("runtimeStatus").GetString());
    }

    [Fact]
    public async Task A_purged_workflow_is_not_found_afterwards()
    {
        var id = await StartSignOffAsync("erin");
        using var raised = await PostAsync($"{Beta}/{id}/raiseEvent/sign-off", "\"approved\"");
        await WaitForStatusAsync(Beta, id, "COMPLETED");

        using var purged = await PostAsync($"{Beta}/{id}/purge");

        Assert.Equal(HttpStatusCode.Accepted, purged.StatusCode);
        using var gone = await _http.GetAsync($"{Beta}/{id}", Cancel);
        await AssertDaprErrorAsync(gone, HttpStatusCode.NotFound, "ERR_INSTANCE_ID_NOT_FOUND", $"unable to find workflow with the provided instance ID: {id}");
    }

    [Fact]
    public async Task A_running_workflow_is_not_purged()
    {
        var id = await StartSignOffAsync("frank");

        using var refused = await PostAsync($"{Stable}/{id}/purge");

        await AssertDaprErrorAsync(refused, HttpStatusCode.InternalServerError, "ERR_PURGE_WORKFLOW");
        Assert.Equal("RUNNING", (await GetAsync(Stable, id)).GetProperty("runtimeStatus").GetString());
    }

    [Fact]
    public async Task A_failed_workflow_reports_its_failure_and_no_output()
    {
        var id = NewId();
        using var started = await PostAsync($"{Stable}/{nameof(ClosedVenueWorkflow)}/start?instanceID={id}", "\"Arena\"");
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);

        var failed = await WaitForStatusAsync(Stable, id, "FAILED");

        Assert.Equal(typeof(InvalidOperationException).FullName, Property(failed, "dapr.workflow.failure.error_type"));
        Assert.Equal("the venue Arena is closed", Property(failed, "dapr.workflow.failure.error_message"));
        Assert.Null(Property(failed, "dapr.workflow.output"));
    }

    [Fact]
    public async Task Starting_an_id_that_is_still_running_is_refused_and_keeps_the_first_run()
    {
        var id = await StartSignOffAsync("grace");

        using var again = await PostAsync($"{Stable}/{nameof(SignOffWorkflow)}/start?instanceID={id}", "\"mallory\"");

        await AssertDaprErrorAsync(again, HttpStatusCode.InternalServerError, "ERR_START_WORKFLOW");
        var first = await GetAsync(Stable, id);
        Assert.Equal("RUNNING", first.GetProperty("runtimeStatus").GetString());
        Assert.Equal("\"grace\"", Property(first, "dapr.workflow.input"));
    }

    [Fact]
    public async Task An_instance_id_with_other_characters_or_over_64_bytes_is_refused_with_400_and_starts_nothing()
    {
        var tooLong = new string('a', 65);

        using var invalid = await PostAsync($"{Beta}/{nameof(SignOffWorkflow)}/start?instanceID=order%2F42", "\"x\"");
        using var overLong = await PostAsync($"{Beta}/{nameof(SignOffWorkflow)}/start?instanceID={tooLong}", "\"x\"");

        await AssertDaprErrorAsync(invalid, HttpStatusCode.BadRequest, "ERR_INSTANCE_ID_INVALID",
            "workflow instance ID 'order/42' is invalid: only alphanumeric and underscore characters are allowed");
        await AssertDaprErrorAsync(overLong, HttpStatusCode.BadRequest, "ERR_INSTANCE_ID_TOO_LONG", "workflow instance ID exceeds the max length of 64 characters");
        using var neither = await _http.GetAsync($"{Beta}/{tooLong}", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, neither.StatusCode);
        using var maxLength = await PostAsync($"{Beta}/{nameof(SignOffWorkflow)}/start?instanceID={new string('b', 63)}-", "\"x\"");
        Assert.Equal(HttpStatusCode.Accepted, maxLength.StatusCode);
    }

    [Fact]
    public async Task An_unknown_instance_is_answered_as_daprd_answers_it_and_nothing_is_created()
    {
        var id = NewId();

        using var get = await _http.GetAsync($"{Stable}/{id}", Cancel);
        using var terminate = await PostAsync($"{Stable}/{id}/terminate");
        using var purge = await PostAsync($"{Stable}/{id}/purge");
        using var raise = await PostAsync($"{Stable}/{id}/raiseEvent/sign-off", "\"approved\"");
        using var pause = await PostAsync($"{Stable}/{id}/pause");
        using var resume = await PostAsync($"{Stable}/{id}/resume");

        var notFound = $"unable to find workflow with the provided instance ID: {id}";
        await AssertDaprErrorAsync(get, HttpStatusCode.NotFound, "ERR_INSTANCE_ID_NOT_FOUND", notFound);
        await AssertDaprErrorAsync(terminate, HttpStatusCode.NotFound, "ERR_INSTANCE_ID_NOT_FOUND", notFound);
        await AssertDaprErrorAsync(purge, HttpStatusCode.NotFound, "ERR_INSTANCE_ID_NOT_FOUND", notFound);
        // daprd reports these three as failures of the operation, not as not-found.
        await AssertDaprErrorAsync(raise, HttpStatusCode.InternalServerError, "ERR_RAISE_EVENT_WORKFLOW");
        await AssertDaprErrorAsync(pause, HttpStatusCode.InternalServerError, "ERR_PAUSE_WORKFLOW");
        await AssertDaprErrorAsync(resume, HttpStatusCode.InternalServerError, "ERR_RESUME_WORKFLOW");
        using var still = await _http.GetAsync($"{Stable}/{id}", Cancel);
        Assert.Equal(HttpStatusCode.NotFound, still.StatusCode);
    }

    [Fact]
    public async Task With_a_Dapr_API_token_the_workflow_API_refuses_calls_without_it()
    {
        var locked = await dapr.Host.Runtime.AddSidecarAsync(new AppDescriptor("locked-approvals", 0, AppChannelProtocol.Http, PortAllocator.FreePort(), PortAllocator.FreePort())
        {
            DaprApiToken = "the-token",
        }, Cancel);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{locked.App.HttpPort}") };
        var id = NewId();
        var start = $"{Stable}/{nameof(SignOffWorkflow)}/start?instanceID={id}";

        using var anonymous = await http.PostAsync(start, new StringContent("\"x\""), Cancel);
        using var refusedGet = await http.GetAsync($"{Stable}/{id}", Cancel);
        http.DefaultRequestHeaders.Add("dapr-api-token", "the-token");
        using var allowedGet = await http.GetAsync($"{Stable}/{id}", Cancel);
        using var allowed = await http.PostAsync(start, new StringContent("\"x\""), Cancel);

        await AssertDaprErrorAsync(anonymous, HttpStatusCode.Unauthorized, "ERR_UNAUTHORIZED");
        await AssertDaprErrorAsync(refusedGet, HttpStatusCode.Unauthorized, "ERR_UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.NotFound, allowedGet.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, allowed.StatusCode);
        // No worker of that app has picked it up: it waits as PENDING.
        Assert.Equal("PENDING", (await http.GetFromJsonAsync<JsonElement>($"{Stable}/{id}", Cancel)).GetProperty("runtimeStatus").GetString());
    }

    public void Dispose() => _http.Dispose();

    private async Task<string> StartSignOffAsync(string requester)
    {
        var id = NewId();
        using var started = await PostAsync($"{Stable}/{nameof(SignOffWorkflow)}/start?instanceID={id}", JsonSerializer.Serialize(requester));
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        await WaitForCustomStatusAsync(Stable, id);
        return id;
    }

    private Task<HttpResponseMessage> PostAsync(string path, string? body = null) =>
        _http.PostAsync(path, body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"), Cancel);

    private async Task<JsonElement> GetAsync(string api, string id)
    {
        using var answer = await _http.GetAsync($"{api}/{id}", Cancel);
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        return await answer.Content.ReadFromJsonAsync<JsonElement>(Cancel);
    }

    /// <summary>Waits until the workflow has run its first episode (it sets its custom status before waiting).</summary>
    private async Task<JsonElement> WaitForCustomStatusAsync(string api, string id)
    {
        var state = default(JsonElement);
        await TestSupport.EventuallyAsync(async () => Property(state = await GetAsync(api, id), "dapr.workflow.custom_status") is not null, $"{id} waiting for its sign-off");
        return state;
    }

    private async Task<JsonElement> WaitForStatusAsync(string api, string id, string status)
    {
        var state = default(JsonElement);
        await TestSupport.EventuallyAsync(async () => (state = await GetAsync(api, id)).GetProperty("runtimeStatus").GetString() == status, $"{id} {status}");
        return state;
    }

    private static string? Property(JsonElement state, string name) =>
        state.TryGetProperty("properties", out var properties) && properties.TryGetProperty(name, out var value) ? value.GetString() : null;

    private static async Task AssertDaprErrorAsync(HttpResponseMessage answer, HttpStatusCode status, string errorCode, string? message = null)
    {
        Assert.Equal(status, answer.StatusCode);
        var error = await answer.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal(errorCode, error.GetProperty("errorCode").GetString());
        if (message is not null)
        {
            Assert.Equal(message, error.GetProperty("message").GetString());
        }
    }
}
