using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Dapr;
using Dapr.Client;
using Grpc.Core;
using Npgsql;

namespace TicketSaga.Runtime.Tests;

/// <summary>Dapr output bindings (HTTP and gRPC, bindings.postgresql) and cron input bindings, as daprd 1.16 serves them.</summary>
public sealed class BindingsTests(BindingsFixture fixture) : IClassFixture<BindingsFixture>
{
    private static CancellationToken Cancel => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Exec_over_http_writes_rows_and_answers_200_with_daprd_metadata_headers()
    {
        var table = await CreateTableAsync();
        using var http = fixture.CreateHttpClient();

        using var answer = await http.PostAsJsonAsync("/v1.0/bindings/sqldb", new
        {
            operation = "exec",
            metadata = new Dictionary<string, string>
            {
                ["sql"] = $"insert into {table} (orderid, customer, price) values ($1, $2, $3), (2, 'Jane Bond', 15.4)",
                ["params"] = """[1, "John Smith", 100.32]""",
            },
        }, Cancel);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("", await answer.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("2", Header(answer, "metadata.rows-affected"));
        Assert.Equal("exec", Header(answer, "metadata.operation"));
        Assert.StartsWith($"insert into {table}", Header(answer, "metadata.sql"));
        Assert.True(DateTimeOffset.Parse(Header(answer, "metadata.start-time")) <= DateTimeOffset.Parse(Header(answer, "metadata.end-time")));
        Assert.Matches(@"^[0-9.]+\D{0,3}s$", Header(answer, "metadata.duration"));
        Assert.Equal(["1 John Smith 100.32", "2 Jane Bond 15.4"], await RowsAsync(table));
    }

    [Fact]
    public async Task Query_over_http_answers_the_rows_as_json_arrays()
    {
        var table = await CreateTableAsync();
        using var http = fixture.CreateHttpClient();
        await ExecAsync(http, $"insert into {table} values (3, 'Tony James', 35.56), (4, null, 1)");

        using var answer = await http.PutAsJsonAsync("/v1.0/bindings/sqldb", new
        {
            operation = "query",
            metadata = new { sql = $"select orderid, customer, price from {table} where orderid >= $1 order by orderid", @params = "[3]" },
        }, Cancel);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("application/json", answer.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""[[3,"Tony James",35.56],[4,null,1]]""", await answer.Content.ReadAsStringAsync(Cancel));
        Assert.Equal("query", Header(answer, "metadata.operation"));
        Assert.False(answer.Headers.Contains("metadata.rows-affected"));
    }

    [Fact]
    public async Task The_sdk_invokes_exec_and_query_over_grpc_and_reads_the_answer_metadata()
    {
        var table = await CreateTableAsync();
        using var client = fixture.Host.CreateDaprClient();

        await client.InvokeBindingAsync("sqldb", "exec", "", new Dictionary<string, string> { ["sql"] = $"insert into {table} values (5, 'Ada', 9.5)" }, Cancel);
        var request = new BindingRequest("sqldb", "query") { Metadata = { ["sql"] = $"select customer from {table}" } };
        var answer = await client.InvokeBindingAsync(request, Cancel);

        Assert.Equal("""[["Ada"]]""", Encoding.UTF8.GetString(answer.Data.Span));
        Assert.Equal("query", answer.Metadata["operation"]);
        Assert.Equal(["5 Ada 9.5"], await RowsAsync(table));
    }

    [Fact]
    public async Task Failures_answer_500_ERR_INVOKE_OUTPUT_BINDING_with_daprd_messages_and_a_bad_body_400()
    {
        using var http = fixture.CreateHttpClient();

        Assert.Equal("error invoking output binding nope: couldn't find output binding nope",
            await FailureAsync(http, "nope", new { operation = "exec", metadata = new { sql = "select 1" } }));
        Assert.Equal("error invoking output binding sqldb: binding sqldb does not support operation create. supported operations:exec query close",
            await FailureAsync(http, "sqldb", new { operation = "create", data = new { a = 1 } }));
        Assert.Equal("error invoking output binding sqldb: operation field is missing from request",
            await FailureAsync(http, "sqldb", new { metadata = new { sql = "select 1" } }));
        Assert.Equal("error invoking output binding sqldb: required metadata not set: sql",
            await FailureAsync(http, "sqldb", new { operation = "exec" }));
        Assert.Matches(@"^error invoking output binding sqldb: error executing query: ERROR: relation ""no_such_table"" does not exist \(SQLSTATE 42P01\)$",
            await FailureAsync(http, "sqldb", new { operation = "query", metadata = new { sql = "select * from no_such_table" } }));
        Assert.StartsWith("error invoking output binding sqldb: invalid metadata property params: failed to unserialize into an array",
            await FailureAsync(http, "sqldb", new { operation = "exec", metadata = new { sql = "select 1", @params = "{\"a\":1}" } }));
        Assert.Equal("error invoking output binding cron: couldn't find output binding cron",
            await FailureAsync(http, "cron", new { operation = "exec", metadata = new { sql = "select 1" } }));

        using var malformed = await http.PostAsync("/v1.0/bindings/sqldb", new StringContent("{not json", Encoding.UTF8, "application/json"), Cancel);
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("ERR_MALFORMED_REQUEST", (await malformed.Content.ReadFromJsonAsync<JsonElement>(Cancel)).GetProperty("errorCode").GetString());
    }

    [Fact]
    public async Task Over_grpc_a_failure_is_Internal_with_the_same_message()
    {
        using var client = fixture.Host.CreateDaprClient();

        var refused = await Assert.ThrowsAsync<DaprException>(() => client.InvokeBindingAsync("nope", "exec", "", new Dictionary<string, string> { ["sql"] = "select 1" }, Cancel));

        var status = Assert.IsType<RpcException>(refused.InnerException);
        Assert.Equal(StatusCode.Internal, status.StatusCode);
        Assert.Equal("error invoking output binding nope: couldn't find output binding nope", status.Status.Detail);
    }

    [Fact]
    public async Task A_binding_scoped_to_another_app_is_not_found_and_its_url_connection_string_serves_that_app()
    {
        var table = await CreateTableAsync();
        using var clerk = fixture.CreateHttpClient();
        using var other = fixture.CreateHttpClient(fixture.Other);

        Assert.Equal("error invoking output binding pgurl: couldn't find output binding pgurl",
            await FailureAsync(clerk, "pgurl", new { operation = "exec", metadata = new { sql = "select 1" } }));
        using var answer = await other.PostAsJsonAsync("/v1.0/bindings/pgurl", new { operation = "exec", metadata = new { sql = $"insert into {table} values (7, 'Other', 1)" } }, Cancel);

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal(["7 Other 1"], await RowsAsync(table));
    }

    [Fact]
    public async Task Close_closes_only_that_apps_binding_answers_204_and_may_be_repeated()
    {
        using var closer = fixture.CreateHttpClient(fixture.Closer);
        using var clerk = fixture.CreateHttpClient();

        using var closed = await closer.PostAsJsonAsync("/v1.0/bindings/sqldb", new { operation = "close" }, Cancel);
        using var again = await closer.PostAsJsonAsync("/v1.0/bindings/sqldb", new { operation = "close" }, Cancel);
        var afterClose = await FailureAsync(closer, "sqldb", new { operation = "exec", metadata = new { sql = "select 1" } });
        using var elsewhere = await clerk.PostAsJsonAsync("/v1.0/bindings/sqldb", new { operation = "exec", metadata = new { sql = "select 1" } }, Cancel);

        Assert.Equal(HttpStatusCode.NoContent, closed.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, again.StatusCode);
        Assert.Equal("error invoking output binding sqldb: component is closed", afterClose);
        Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
    }

    [Fact]
    public async Task The_bindings_api_is_behind_the_dapr_api_token()
    {
        using var http = fixture.CreateHttpClient(fixture.Guarded);
        var body = new { operation = "exec", metadata = new { sql = "select 1" } };

        using var refused = await http.PostAsJsonAsync("/v1.0/bindings/sqldb", body, Cancel);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1.0/bindings/sqldb") { Content = JsonContent.Create(body) };
        request.Headers.Add("dapr-api-token", "guarded-token");
        using var allowed = await http.SendAsync(request, Cancel);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
    }

    [Fact]
    public async Task Cron_posts_an_empty_json_body_to_the_binding_route_of_the_http_app_with_its_metadata_headers()
    {
        await TestSupport.EventuallyAsync(() => Calls("ticker", "POST", "/cron").Count >= 2, "two cron triggers at ticker's /cron");

        var call = Calls("ticker", "POST", "/cron")[0];
        Assert.Equal("", call.Body);
        Assert.Equal("application/json", call.Headers["Content-Type"]);
        Assert.Equal("Local", call.Headers["timeZone"]);
        Assert.Matches(@"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$", call.Headers["readTimeUTC"]);
    }

    [Fact]
    public async Task Without_direction_the_app_is_asked_with_OPTIONS_and_a_route_it_lacks_gets_nothing()
    {
        // /wake-up answers 500 every time: it is logged, and the schedule goes on.
        await TestSupport.EventuallyAsync(() => Calls("ticker", "POST", "/wake-up").Count >= 2, "two triggers of wake at its route /wake-up");

        Assert.NotEmpty(Calls("ticker", "OPTIONS", "/wake-up"));
        Assert.NotEmpty(Calls("ticker", "OPTIONS", "/ignored"));
        Assert.Empty(Calls("ticker", "POST", "/ignored"));
        Assert.Empty(Calls("ticker", "OPTIONS", "/cron"));
    }

    [Fact]
    public async Task An_app_outside_the_bindings_scopes_gets_no_trigger()
    {
        await TestSupport.EventuallyAsync(() => Calls("ticker", "POST", "/cron").Count >= 3, "three cron triggers at ticker");

        // It is asked for its subscriptions (pub/sub) and its actors, but never about a binding.
        Assert.DoesNotContain(fixture.HttpCalls, c => c.App == "bystander" && c.Method is "POST" or "OPTIONS");
    }

    [Fact]
    public async Task A_grpc_app_gets_OnBindingEvent_for_an_input_binding_and_for_one_it_lists_and_not_for_one_it_does_not()
    {
        await TestSupport.EventuallyAsync(
            () => fixture.GrpcEvents.Count(e => e.Name == "cron") >= 2 && fixture.GrpcEvents.Count(e => e.Name == "grpconly") >= 2,
            "two OnBindingEvent of cron and of grpconly");

        var cron = fixture.GrpcEvents.First(e => e.Name == "cron");
        Assert.True(cron.Data.IsEmpty);
        Assert.Equal("Local", cron.Metadata["timeZone"]);
        Assert.DoesNotContain(fixture.GrpcEvents, e => e.Name == "unlisted");
    }

    private List<(string App, string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body)> Calls(string app, string method, string path) =>
        [.. fixture.HttpCalls.Where(c => c.App == app && c.Method == method && c.Path == path)];

    private static string Header(HttpResponseMessage answer, string name) => answer.Headers.GetValues(name).Single();

    private static async Task<string> FailureAsync(HttpClient http, string binding, object body)
    {
        using var answer = await http.PostAsJsonAsync($"/v1.0/bindings/{binding}", body, Cancel);
        Assert.Equal(HttpStatusCode.InternalServerError, answer.StatusCode);
        var error = await answer.Content.ReadFromJsonAsync<JsonElement>(Cancel);
        Assert.Equal("ERR_INVOKE_OUTPUT_BINDING", error.GetProperty("errorCode").GetString());
        return error.GetProperty("message").GetString()!;
    }

    private static async Task ExecAsync(HttpClient http, string sql)
    {
        using var answer = await http.PostAsJsonAsync("/v1.0/bindings/sqldb", new { operation = "exec", metadata = new { sql } }, Cancel);
        answer.EnsureSuccessStatusCode();
    }

    /// <summary>A fresh table shaped as the bindings quickstart's <c>orders</c>, created through the binding itself.</summary>
    private async Task<string> CreateTableAsync()
    {
        var table = $"orders_{Guid.NewGuid():N}";
        using var http = fixture.CreateHttpClient();
        await ExecAsync(http, $"create table {table} (orderid int, customer text, price float)");
        return table;
    }

    private async Task<List<string>> RowsAsync(string table)
    {
        await using var connection = new NpgsqlConnection(fixture.Database);
        await connection.OpenAsync(Cancel);
        await using var command = new NpgsqlCommand($"select orderid, customer, price from {table} order by orderid", connection);
        await using var reader = await command.ExecuteReaderAsync(Cancel);
        var rows = new List<string>();
        while (await reader.ReadAsync(Cancel))
        {
            rows.Add(FormattableString.Invariant($"{reader.GetInt32(0)} {reader.GetString(1)} {reader.GetDouble(2)}"));
        }

        return rows;
    }
}
