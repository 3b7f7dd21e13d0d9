using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;

namespace TicketSaga.EndToEnd.Tests;

/// <summary>
/// The served OpenAPI document as a validating proxy reads it: every request and response that passes
/// through <see cref="Handler"/> is checked against the operation it matches (path, method, security,
/// parameters, media types, JSON Schema of the bodies, documented statuses) and recorded with its findings.
/// Objects are closed, as the proxy treats them: a field the document does not declare is a finding.
/// </summary>
public sealed class OpenApiContract
{
    /// <summary>Set on a request the test sends to break the contract on purpose (bad input): it must then be found invalid.</summary>
    public static readonly HttpRequestOptionsKey<bool> BreaksContract = new("openapi-breaks-contract");

    private static readonly Uri DocumentUri = new("https://ticketsaga.test/openapi/v1.json");
    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List, RequireFormatValidation = true };

    private readonly JsonElement _document;
    private readonly BuildOptions _build;
    private readonly List<(Regex Pattern, string Path)> _paths;
    private readonly List<Exchange> _exchanges = [];

    private OpenApiContract(JsonElement document)
    {
        _document = document;
        var registry = new SchemaRegistry();
        registry.Register(DocumentUri, new JsonElementBaseDocument(document, DocumentUri));
        _build = new BuildOptions { SchemaRegistry = registry };
        _paths =
        [
            .. document.GetProperty("paths").EnumerateObject()
                .Select(p => (new Regex("^" + Regex.Replace(Regex.Escape(Trimmed(p.Name)), @"\\\{[^/]+?}", "[^/]+") + "$"), p.Name))
                // Literal segments before templated ones: POST /payments/confirm is not GET /payments/{order_id}.
                .OrderBy(p => p.Name.Count(c => c == '{')),
        ];
    }

    public IReadOnlyList<Exchange> Exchanges => _exchanges;

    public static async Task<OpenApiContract> LoadAsync(HttpClient anonymous)
    {
        var document = JsonNode.Parse(await anonymous.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)))!;
        Close(document);
        return new OpenApiContract(JsonDocument.Parse(document.ToJsonString()).RootElement.Clone());
    }

    /// <summary>An HTTP client of <paramref name="gateway"/> whose every exchange is checked and recorded.</summary>
    public HttpClient Client(Uri gateway, AuthenticationHeaderValue? token = null)
    {
        var client = new HttpClient(new ValidatingHandler(this) { InnerHandler = new HttpClientHandler() }) { BaseAddress = gateway };
        client.DefaultRequestHeaders.Authorization = token;
        return client;
    }

    /// <summary>Every response agrees with the document, and every request does unless it was sent to break it.</summary>
    public void AssertEveryExchangeAgrees()
    {
        var disagreements = _exchanges
            .Where(e => e.ResponseFindings.Count > 0 || (e.RequestFindings.Count > 0) != e.BreaksContract)
            .Select(e => e.ToString())
            .ToList();
        Assert.True(disagreements.Count == 0, $"{disagreements.Count} of {_exchanges.Count} exchanges disagree with /openapi/v1.json:\n" + string.Join("\n", disagreements));
    }

    /// <summary>A validating proxy's reading: an object schema without additionalProperties declares all its fields.</summary>
    private static void Close(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject schema:
                if (schema.ContainsKey("properties") && !schema.ContainsKey("additionalProperties") && !IsProblemDetails(schema))
                {
                    schema["additionalProperties"] = false;
                }

                foreach (var child in schema.Select(p => p.Value).ToList())
                {
                    Close(child);
                }

                break;
            case JsonArray array:
                foreach (var child in array)
                {
                    Close(child);
                }

                break;
        }
    }

    /// <summary>RFC 9457 lets a problem carry extension members (e.g. decline_code).</summary>
    private static bool IsProblemDetails(JsonObject schema) =>
        schema["properties"] is JsonObject properties && properties.ContainsKey("type") && properties.ContainsKey("title") && properties.ContainsKey("detail");

    private static string Trimmed(string path) => path.Length > 1 ? path.TrimEnd('/') : path;

    private (string Path, JsonElement Operation)? Find(HttpMethod method, string path)
    {
        foreach (var (pattern, template) in _paths)
        {
            if (pattern.IsMatch(Trimmed(path))
                && _document.GetProperty("paths").GetProperty(template).TryGetProperty(method.Method.ToLowerInvariant(), out var operation))
            {
                return (template, operation);
            }
        }

        return null;
    }

    private async Task<List<string>> CheckRequestAsync(HttpRequestMessage request, string template, JsonElement operation, string pointer)
    {
        var findings = new List<string>();
        var security = operation.TryGetProperty("security", out var own) ? own : _document.TryGetProperty("security", out var global) ? global : default;
        var anonymousAllowed = security.ValueKind != JsonValueKind.Array || security.GetArrayLength() == 0
            || security.EnumerateArray().Any(requirement => !requirement.EnumerateObject().Any());
        if (!anonymousAllowed && request.Headers.Authorization?.Scheme != "Bearer")
        {
            findings.Add("security: the operation requires a bearer token");
        }

        var values = PathValues(template, request.RequestUri!);
        var query = Query(request.RequestUri!);
        var parameters = operation.TryGetProperty("parameters", out var declared) ? declared.EnumerateArray().ToList() : [];
        for (var i = 0; i < parameters.Count; i++)
        {
            var name = parameters[i].GetProperty("name").GetString()!;
            var value = parameters[i].GetProperty("in").GetString() switch
            {
                "path" => values.GetValueOrDefault(name),
                "query" => query.GetValueOrDefault(name),
                "header" => request.Headers.TryGetValues(name, out var header) ? string.Join(",", header) : null,
                _ => null,
            };
            if (value is null)
            {
                if (parameters[i].TryGetProperty("required", out var required) && required.GetBoolean())
                {
                    findings.Add($"parameter {name}: required");
                }

                continue;
            }

            var schema = $"{pointer}/parameters/{i}/schema";
            findings.AddRange(Validate(schema, ParameterValue(value, Resolve(parameters[i].GetProperty("schema")))).Select(f => $"parameter {name}{f}"));
        }

        findings.AddRange(query.Keys
            .Where(name => !parameters.Any(p => p.GetProperty("in").GetString() == "query" && p.GetProperty("name").GetString() == name))
            .Select(name => $"parameter {name}: not documented"));

        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync();
        if (!operation.TryGetProperty("requestBody", out var requestBody))
        {
            if (body.Length > 0)
            {
                findings.Add("body: the operation takes none");
            }

            return findings;
        }

        var mediaType = request.Content?.Headers.ContentType?.MediaType;
        if (mediaType is null || !requestBody.GetProperty("content").TryGetProperty(mediaType, out _))
        {
            findings.Add($"body: media type {mediaType ?? "(none)"} not documented");
            return findings;
        }

        findings.AddRange(ValidateJson($"{pointer}/requestBody/content/{Escape(mediaType)}/schema", body).Select(f => "body" + f));
        return findings;
    }

    private async Task<List<string>> CheckResponseAsync(HttpResponseMessage response, JsonElement operation, string pointer)
    {
        var status = ((int)response.StatusCode).ToString(CultureInfo.InvariantCulture);
        var responses = operation.GetProperty("responses");
        var key = responses.TryGetProperty(status, out _) ? status
            : responses.TryGetProperty(status[0] + "XX", out _) ? status[0] + "XX"
            : responses.TryGetProperty("default", out _) ? "default" : null;
        if (key is null)
        {
            return [$"status {status} not documented"];
        }

        var body = await response.Content.ReadAsStringAsync();
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (!responses.GetProperty(key).TryGetProperty("content", out var content))
        {
            return body.Length == 0 ? [] : [$"{status}: a body ({mediaType}) where the document has none"];
        }

        if (mediaType is null || !content.TryGetProperty(mediaType, out _))
        {
            return [$"{status}: media type {mediaType ?? "(none)"} not documented ({string.Join(", ", content.EnumerateObject().Select(m => m.Name))}); body: {Shorten(body)}"];
        }

        return [.. ValidateJson($"{pointer}/responses/{key}/content/{Escape(mediaType)}/schema", body).Select(f => $"{status} body{f}")];
    }

    private IEnumerable<string> ValidateJson(string schemaPointer, string text)
    {
        JsonElement instance;
        try
        {
            instance = JsonDocument.Parse(text).RootElement.Clone();
        }
        catch (JsonException)
        {
            return [$": not JSON: {Shorten(text)}"];
        }

        return Validate(schemaPointer, instance);
    }

    private IEnumerable<string> Validate(string schemaPointer, JsonElement instance)
    {
        var reference = JsonSerializer.Serialize(new Dictionary<string, string>
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$ref"] = $"{DocumentUri}#{string.Join('/', schemaPointer.Split('/').Select(Uri.EscapeDataString))}",
        });
        var result = JsonSchema.FromText(reference, _build).Evaluate(instance, Evaluation);
        return result.IsValid
            ? []
            : (result.Details ?? []).Where(d => d.Errors is not null)
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} {e.Key}: {e.Value}"))
                .Distinct()
                .DefaultIfEmpty(": invalid")
                .Select(f => f + $" in {Shorten(instance.GetRawText())}");
    }

    private JsonElement Resolve(JsonElement schema)
    {
        while (schema.TryGetProperty("$ref", out var reference))
        {
            schema = reference.GetString()!.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries)
                .Aggregate(_document, (node, segment) => node.GetProperty(segment.Replace("~1", "/").Replace("~0", "~")));
        }

        return schema;
    }

    /// <summary>A path or query value as JSON: a number where the schema wants one, else the string itself.</summary>
    private static JsonElement ParameterValue(string value, JsonElement schema)
    {
        var numeric = schema.TryGetProperty("type", out var type)
            && (type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()) : [type.GetString()]).Any(t => t is "integer" or "number");
        return numeric && decimal.TryParse(value, NumberStyles.Number, CultureInfo.InvariantCulture, out _)
            ? JsonDocument.Parse(value).RootElement.Clone()
            : JsonSerializer.SerializeToElement(value);
    }

    private static Dictionary<string, string> PathValues(string template, Uri uri)
    {
        var names = template.Split('/');
        var segments = uri.AbsolutePath.Split('/');
        return names.Zip(segments).Where(p => p.First.StartsWith('{'))
            .ToDictionary(p => p.First.Trim('{', '}'), p => Uri.UnescapeDataString(p.Second));
    }

    private static Dictionary<string, string> Query(Uri uri) =>
        uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Select(pair => pair.Split('=', 2))
            .ToDictionary(pair => Uri.UnescapeDataString(pair[0]), pair => pair.Length > 1 ? Uri.UnescapeDataString(pair[1]) : "");

    private static string Escape(string segment) => segment.Replace("~", "~0").Replace("/", "~1");

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "…";

    /// <param name="BreaksContract">The test sent the request to break the contract on purpose.</param>
    public sealed record Exchange(string Request, int Status, bool BreaksContract, IReadOnlyList<string> RequestFindings, IReadOnlyList<string> ResponseFindings)
    {
        public override string ToString()
        {
            var text = new StringBuilder($"{Request} -> {Status}");
            if (BreaksContract && RequestFindings.Count == 0)
            {
                text.Append("\n    request: sent to break the contract, yet the document accepts it");
            }

            foreach (var finding in RequestFindings.Where(_ => !BreaksContract))
            {
                text.Append("\n    request: ").Append(finding);
            }

            foreach (var finding in ResponseFindings)
            {
                text.Append("\n    response: ").Append(finding);
            }

            return text.ToString();
        }
    }

    private sealed class ValidatingHandler(OpenApiContract contract) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is not null)
            {
                await request.Content.LoadIntoBufferAsync(cancellationToken);
            }

            var path = request.RequestUri!.AbsolutePath;
            var description = $"{request.Method} {request.RequestUri.PathAndQuery}";
            var breaks = request.Options.TryGetValue(BreaksContract, out var value) && value;
            var response = await base.SendAsync(request, cancellationToken);
            await response.Content.LoadIntoBufferAsync(cancellationToken);

            Exchange exchange;
            if (contract.Find(request.Method, path) is not var (template, operation))
            {
                exchange = new Exchange(description, (int)response.StatusCode, breaks, ["operation not documented"], []);
            }
            else
            {
                var pointer = $"/paths/{Escape(template)}/{request.Method.Method.ToLowerInvariant()}";
                exchange = new Exchange(
                    description, (int)response.StatusCode, breaks,
                    await contract.CheckRequestAsync(request, template, operation, pointer),
                    await contract.CheckResponseAsync(response, operation, pointer));
            }

            lock (contract._exchanges)
            {
                contract._exchanges.Add(exchange);
            }

            return response;
        }
    }
}
