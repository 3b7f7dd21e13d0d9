using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>
/// Issue 11: no error answer carries a stack trace, request headers, a token or a connection string,
/// even though the system runs as `ticketsaga up` runs it (every app in the Development environment).
/// Every public endpoint gets malformed input through the gateway with a bearer token.
/// </summary>
[Collection(nameof(SystemTests))]
public sealed partial class ErrorAnswerTests(SystemUnderTest system)
{
    private const string ProbeHeader = "X-Probe";
    private const string ProbeValue = "probe-7f3a9c-must-not-come-back";

    public static TheoryData<string, string, string?> MalformedRequests { get; } = new()
    {
        { "POST", "/orders", """{"ticket_id":"0196f1c4-0000-7000-8000-000000000001","qty":"2x"}""" },
        { "POST", "/orders", """{"ticket_id":42,"qty":2}""" },
        { "POST", "/orders", """{"ticket_id":"x","qty":2,"seat_ids":"A1"}""" },
        { "POST", "/orders", "{not json" },
        { "POST", "/orders", "[1,2,3]" },
        { "POST", "/orders", "" },
        { "GET", "/orders?limit=abc&cursor=%00", null },
        { "GET", "/orders/not-a-uuid", null },
        { "DELETE", "/orders/not-a-uuid", null },
        { "POST", "/payments/confirm", """{"order_id":{"nested":true},"payment_method":["pm_card_visa"]}""" },
        { "POST", "/payments/confirm", "{not json" },
        { "GET", "/payments/not-a-uuid", null },
        { "POST", "/payments/webhook", """{"id":"evt_forged","type":"payment_intent.succeeded"}""" },
        { "POST", "/payments/webhook", "{not json" },
        { "GET", "/events/not-a-uuid/seats", null },
        { "GET", "/events?page=%ZZ", null },
    };

    [Theory]
    [MemberData(nameof(MalformedRequests))]
    public async Task A_malformed_request_is_answered_without_stack_trace_headers_or_token(string method, string path, string? body)
    {
        using var customer = system.NewCustomer();
        var token = customer.Http.DefaultRequestHeaders.Authorization!.Parameter!;

        using var response = await SendAsync(customer.Http, method, path, body);
        var answer = await response.Content.ReadAsStringAsync();

        Assert.True((int)response.StatusCode < 500, $"{method} {path} answered {(int)response.StatusCode}: {answer}");
        AssertLeaksNothing(answer, response, token);
    }

    [Fact]
    public async Task A_path_the_sidecars_access_policy_refuses_is_a_plain_404_that_names_nothing_internal()
    {
        using var customer = system.NewCustomer();
        var token = customer.Http.DefaultRequestHeaders.Authorization!.Parameter!;

        using var response = await customer.Http.GetAsync($"/orders/{Guid.NewGuid()}/seats");
        var answer = await response.Content.ReadAsStringAsync();

        await Expect.ProblemAsync(response, HttpStatusCode.NotFound, "not-found");
        Assert.DoesNotContain("spiffe", answer, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("ERR_", answer, StringComparison.Ordinal);
        AssertLeaksNothing(answer, response, token);
    }

    [Fact]
    public async Task A_wrongly_typed_field_is_named_in_a_plain_problem()
    {
        using var customer = system.NewCustomer();

        using var response = await SendAsync(customer.Http, "POST", "/orders", """{"ticket_id":"0196f1c4-0000-7000-8000-000000000001","qty":"2x"}""");

        var problem = await Expect.ProblemAsync(response, HttpStatusCode.BadRequest, "malformed-body");
        Assert.Contains("qty", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(problem.EnumerateObject(), p => p.Name is "exception" or "errors" or "headers");
    }

    [Theory]
    [InlineData("/orders?before=not-an-order", "before")]
    [InlineData("/orders?limit=abc", "limit")]
    public async Task A_query_parameter_of_the_wrong_type_is_named_and_its_value_not_echoed(string path, string parameter)
    {
        using var customer = system.NewCustomer();

        using var response = await SendAsync(customer.Http, "GET", path, body: null);

        var problem = await Expect.ProblemAsync(response, HttpStatusCode.BadRequest, "invalid-parameter");
        var detail = problem.GetProperty("detail").GetString();
        Assert.Equal($"'{parameter}' does not have the expected type or format.", detail);
        Assert.DoesNotContain("body", problem.GetProperty("title").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain(path[(path.IndexOf('=') + 1)..], problem.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_and_the_stripe_webhook_has_a_larger_one()
    {
        using var customer = system.NewCustomer();
        var token = customer.Http.DefaultRequestHeaders.Authorization!.Parameter!;
        var large = $$"""{"ticket_id":"0196f1c4-0000-7000-8000-000000000001","qty":1,"note":"{{new string('x', 100 * 1024)}}"}""";

        using var order = await SendAsync(customer.Http, "POST", "/orders", large);
        using var webhook = await SendAsync(customer.Http, "POST", "/payments/webhook", large);

        await Expect.ProblemAsync(order, HttpStatusCode.RequestEntityTooLarge, "body-too-large");
        // Past the size check: refused for its signature, not its size.
        Assert.Equal(HttpStatusCode.BadRequest, webhook.StatusCode);
        AssertLeaksNothing(await webhook.Content.ReadAsStringAsync(), webhook, token);
    }

    [Fact]
    public async Task A_token_without_sub_is_refused_with_401_not_500()
    {
        using var http = system.Client();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", TokenWithoutSubject(system.Auth));

        using var orders = await http.GetAsync("/orders");

        Assert.Equal(HttpStatusCode.Unauthorized, orders.StatusCode);
        AssertLeaksNothing(await orders.Content.ReadAsStringAsync(), orders, http.DefaultRequestHeaders.Authorization.Parameter!);
    }

    /// <summary>Signed with the system's key, valid in every way, but naming no user.</summary>
    private static string TokenWithoutSubject(AuthSettings auth) => new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
    {
        Issuer = auth.Issuer,
        Audience = auth.Audience,
        Claims = new Dictionary<string, object> { [JwtRegisteredClaimNames.Name] = "nobody" },
        Expires = DateTime.UtcNow.AddHours(1),
        SigningCredentials = new SigningCredentials(DevTokens.SecurityKey(auth.SigningKey!), SecurityAlgorithms.HmacSha256),
    });

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, string method, string path, string? body)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.TryAddWithoutValidation(ProbeHeader, ProbeValue);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        var response = await http.SendAsync(request);
        await response.Content.LoadIntoBufferAsync();
        return response;
    }

    private static void AssertLeaksNothing(string answer, HttpResponseMessage response, string token)
    {
        Assert.DoesNotContain(token, answer, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[1], answer, StringComparison.Ordinal);
        Assert.DoesNotContain(ProbeValue, answer, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", answer, StringComparison.Ordinal);
        Assert.DoesNotMatch(StackFrame(), answer);
        Assert.DoesNotMatch(ConnectionString(), answer);
        Assert.All(response.Headers.Concat(response.Content.Headers), header => Assert.All(header.Value, value =>
        {
            Assert.DoesNotContain(token, value, StringComparison.Ordinal);
            Assert.DoesNotContain(ProbeValue, value, StringComparison.Ordinal);
        }));
        if (answer.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/problem+json")
        {
            using var problem = JsonDocument.Parse(answer);
            Assert.True(problem.RootElement.TryGetProperty("type", out _), answer);
        }
    }

    /// <summary>A .NET stack frame: "at Namespace.Type.Method(" or " in /path/File.cs:line".</summary>
    [GeneratedRegex(@"\bat [\w.`<>+\[\]]+\(|\.cs:line \d+")]
    private static partial Regex StackFrame();

    [GeneratedRegex(@"(?i)\b(host|server|username|user id|password)\s*=")]
    private static partial Regex ConnectionString();
}
