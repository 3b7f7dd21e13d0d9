using System.Diagnostics;
using System.Net.Http.Json;
using System.Text;
using Npgsql;
using TicketSaga.Runtime.Postgres;
using TicketSaga.Testing;

namespace TicketSaga.Cli.Tests;

/// <summary>
/// The official dapr/dotnet-sdk examples in samples/dapr-sdk-examples (unchanged but for package references)
/// run with `ticketsaga run -f` as a user would, checked against what their READMEs and code promise.
/// </summary>
public sealed class DaprSdkExamplesTests(PostgresServer postgres, DaprSdkExamplesBuild build) : IClassFixture<DaprSdkExamplesBuild>
{
    private static readonly Uri Routing = new("http://127.0.0.1:5000/");

    [Fact]
    public async Task StateManagement_saves_reads_deletes_in_transactions_with_etags_and_as_bytes()
    {
        var run = SampleRun.Start(postgres, build.Folder, "state.yaml");
        await using (run)
        {
            Assert.Equal(0, await run.ExitCodeAsync());
        }

        var output = run.Output;
        Assert.Contains("== APP - state-basics == Saved State!", output);
        Assert.Contains("== APP - state-basics == Got State: small yellow", output);
        Assert.Contains("== APP - state-basics == Deleted State!", output);
        Assert.Contains("== APP - state-transactions == Executed State Transaction!", output);
        Assert.Contains("== APP - state-transactions == Got State: small yellow", output);
        Assert.Matches(@"Saved state with old etag: \S+ successfully\? False", output);
        Assert.Matches(@"Saved state with latest etag: \S+ successfully\? True", output);
        Assert.Matches(@"Deleted state with old etag: \S+ successfully\? False", output);
        Assert.Matches(@"Retrieved state: small  green with etag: \S+", output);
        Assert.Matches(@"Deleted state with updated etag: \S+ successfully\? True", output);
        Assert.Contains("== APP - state-bytes == Got State: Test Binary Data", output);
        Assert.Contains("Every app has finished", output);
    }

    [Fact]
    public async Task ServiceInvocation_over_http_reaches_the_RoutingSample_which_keeps_the_balance_in_the_state_store()
    {
        await using var run = SampleRun.Start(postgres, build.Folder, "invoke-http.yaml");

        await run.WaitForAsync("== DaprClient finished (exit code 0)");

        Assert.Contains("== APP - DaprClient == Returned: id:17 | Balance:99", run.Output);
        Assert.Contains("== APP - DaprClient == Received balance 89", run.Output);
        // The README's curl calls, straight to the app.
        using var http = new HttpClient { BaseAddress = Routing };
        Assert.Equal("""{"id":"17","balance":89}""", await http.GetStringAsync("17", TestContext.Current.CancellationToken));
        using var withdraw = await http.PostAsJsonAsync("withdraw", new { id = "17", amount = 10 }, TestContext.Current.CancellationToken);
        Assert.Equal("""{"id":"17","balance":79}""", await withdraw.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task ServiceInvocation_over_grpc_reaches_the_GrpcServiceSample_through_its_AppCallback()
    {
        await using var run = SampleRun.Start(postgres, build.Folder, "invoke-grpc.yaml");

        await run.WaitForAsync("== DaprClient finished (exit code 0)");

        Assert.Contains("== APP - DaprClient == Returned: id:17 | Balance:99", run.Output);
        Assert.Contains("== APP - DaprClient == Received grpc balance 89", run.Output);
    }

    [Fact]
    public async Task A_deposit_published_by_PublishEventExample_reaches_the_RoutingSample_subscription()
    {
        await using var run = SampleRun.Start(postgres, build.Folder, "pubsub.yaml");

        await run.WaitForAsync("== publisher finished (exit code 0)");

        Assert.Contains("== APP - publisher == Published deposit event!", run.Output);
        using var http = new HttpClient { BaseAddress = Routing };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string balance;
        // 404 until the deposit has been delivered: the account does not exist before.
        while ((balance = await BalanceAsync(http)) != """{"id":"17","balance":10}""" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(200, TestContext.Current.CancellationToken);
        }

        Assert.Equal("""{"id":"17","balance":10}""", balance);
    }

    [Fact]
    public async Task WorkflowTaskChaining_runs_its_three_activities_to_completion()
    {
        var run = SampleRun.Start(postgres, build.Folder, "workflow.yaml");
        await using (run)
        {
            Assert.Equal(0, await run.ExitCodeAsync());
        }

        Assert.Contains("== APP - wfchain == Step 1: Received input: 42.", run.Output);
        Assert.Contains("== APP - wfchain == Step 2: Received input: 43.", run.Output);
        Assert.Contains("== APP - wfchain == Step 3: Received input: 45.", run.Output);
        Assert.Contains("== APP - wfchain == Workflow status: Completed", run.Output);
        Assert.Contains("== APP - wfchain == Workflow result: 43 45 47", run.Output);
    }

    /// <summary>The account's JSON, or the status code while the app answers none (404: no such account yet).</summary>
    private static async Task<string> BalanceAsync(HttpClient http)
    {
        using var answer = await http.GetAsync("17", TestContext.Current.CancellationToken);
        return answer.IsSuccessStatusCode ? await answer.Content.ReadAsStringAsync(TestContext.Current.CancellationToken) : answer.StatusCode.ToString();
    }
}

public sealed class DaprSdkExamplesBuild : IAsyncLifetime
{
    public string Folder { get; } = Path.Combine(Repository.Root, "samples", "dapr-sdk-examples");

    public async ValueTask InitializeAsync()
    {
        var info = new ProcessStartInfo("dotnet", ["build", Path.Combine(Folder, "DaprSdkExamples.slnx"), "-nologo", "-v", "quiet"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var dotnet = Process.Start(info)!;
        var output = dotnet.StandardOutput.ReadToEndAsync();
        var error = dotnet.StandardError.ReadToEndAsync();
        await dotnet.WaitForExitAsync();
        if (dotnet.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet build of the examples failed:{Environment.NewLine}{await output}{await error}");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
