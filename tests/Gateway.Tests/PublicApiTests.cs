using System.Net;
using System.Text.Json;

namespace TicketSaga.Gateway.Tests;

[Collection(nameof(GatewayTests))]
public sealed class PublicApiTests(GatewaySystem system)
{
    private static readonly string[] OrderStatusValues = ["PENDING", "CONFIRMED", "EXPIRED", "CANCELLED", "REFUNDED"];

    [Fact]
    public async Task The_openapi_document_lists_every_public_endpoint()
    {
        using var client = system.Client();

        var document = await (await client.GetAsync("/openapi/v1.json")).JsonAsync();

        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Select(op => $"{op.Name.ToUpperInvariant()} {path.Name}"))
            .ToHashSet();
        Assert.Subset(operations, new HashSet<string>
        {
            "POST /orders", "GET /orders", "GET /orders/{id}", "DELETE /orders/{id}",
            "POST /payments/confirm", "GET /payments/{order_id}", "POST /payments/webhook",
            "GET /events", "GET /events/{id}/seats",
        });
    }

    [Fact]
    public async Task The_openapi_document_describes_snake_case_bodies_security_and_the_idempotency_key()
    {
        using var client = system.Client();

        var document = await (await client.GetAsync("/openapi/v1.json")).JsonAsync();

        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Subset(Properties(schemas, "PlaceOrderRequest"), new HashSet<string> { "ticket_id", "qty", "seat_ids", "section" });
        Assert.Subset(Properties(schemas, "OrderResponse"), new HashSet<string> { "order_id", "status", "expires_at", "seats", "amount", "currency" });
        Assert.Subset(Properties(schemas, "ConfirmPaymentRequest"), new HashSet<string> { "order_id", "payment_method" });
        Assert.Subset(Properties(schemas, "EventSummary"), new HashSet<string> { "event_id", "seat_plan_id", "sections", "ticket_types" });
        Assert.Subset(Properties(schemas, "SeatView"), new HashSet<string> { "seat_id", "label", "section", "row", "number", "status" });
        var createOrder = document.GetProperty("paths").GetProperty("/orders").GetProperty("post");
        Assert.Contains(createOrder.GetProperty("parameters").EnumerateArray(), p => p.GetProperty("name").GetString() == "Idempotency-Key");
        Assert.True(createOrder.GetProperty("responses").GetProperty("201").GetProperty("headers").TryGetProperty("Idempotent-Replayed", out _));
        var security = createOrder.TryGetProperty("security", out var own) ? own : document.GetProperty("security");
        Assert.Contains(security.EnumerateArray(), requirement => requirement.TryGetProperty("Bearer", out _));
        Assert.Empty(document.GetProperty("paths").GetProperty("/payments/webhook").GetProperty("post").GetProperty("security").EnumerateArray());
        Assert.Equal("bearer", document.GetProperty("components").GetProperty("securitySchemes").GetProperty("Bearer").GetProperty("scheme").GetString());
    }

    [Fact]
    public async Task The_openapi_document_types_integers_as_integers_lists_every_status_and_names_no_server()
    {
        using var client = system.Client();

        var document = await (await client.GetAsync("/openapi/v1.json")).JsonAsync();

        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Equal("integer", Property(schemas, "PlaceOrderRequest", "qty").GetProperty("type").GetString());
        Assert.Equal("integer", Property(schemas, "OrderResponse", "amount").GetProperty("type").GetString());
        Assert.Equal(
            OrderStatusValues,
            Property(schemas, "OrderResponse", "status").GetProperty("enum").EnumerateArray().Select(v => v.GetString()!));
        Assert.Contains("REQUIRES_ACTION", Property(schemas, "PaymentView", "status").GetProperty("enum").EnumerateArray().Select(v => v.GetString()!));
        var nextAction = Resolved(schemas, Property(schemas, "PaymentView", "next_action"));
        Assert.Contains("object", nextAction.GetProperty("type").GetRawText());
        Assert.Contains("type", nextAction.GetProperty("required").EnumerateArray().Select(v => v.GetString()!));
        var catalog = document.GetProperty("paths").EnumerateObject().First(p => p.Name.TrimEnd('/') == "/events").Value.GetProperty("get");
        Assert.Empty(catalog.GetProperty("security").EnumerateArray());
        Assert.False(document.TryGetProperty("servers", out _));
    }

    [Fact]
    public async Task The_openapi_document_declares_the_headers_and_limits_the_answers_carry()
    {
        using var client = system.Client();

        var document = await (await client.GetAsync("/openapi/v1.json")).JsonAsync();

        var paths = document.GetProperty("paths");
        var placing = paths.GetProperty("/orders").GetProperty("post").GetProperty("responses");
        Assert.True(Header(placing, "201", "Location"));
        Assert.True(Header(placing, "409", "Idempotent-Replayed"));
        Assert.True(Header(placing, "409", "Retry-After"));
        Assert.False(Header(placing, "429", "Idempotent-Replayed"));
        Assert.Contains("seats-taken", placing.GetProperty("409").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Contains("rate-limited", placing.GetProperty("429").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(placing.TryGetProperty("413", out _));
        Assert.Contains("request-timeout", placing.GetProperty("408").GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(Header(paths.GetProperty("/orders/{id}").GetProperty("delete").GetProperty("responses"), "202", "Location"));
        var reading = paths.GetProperty("/orders/{id}").GetProperty("get").GetProperty("responses");
        Assert.True(Header(reading, "429", "Retry-After"));
        Assert.True(reading.TryGetProperty("500", out _));
        Assert.False(reading.TryGetProperty("413", out _));
        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Equal(100, Property(schemas, "PlaceOrderRequest", "qty").GetProperty("maximum").GetInt32());
        Assert.Equal(100, Property(schemas, "PlaceOrderRequest", "seat_ids").GetProperty("maxItems").GetInt32());

        static bool Header(JsonElement responses, string status, string name) =>
            responses.GetProperty(status).TryGetProperty("headers", out var headers) && headers.TryGetProperty(name, out _);
    }

    [Fact]
    public async Task Every_object_type_is_one_component_so_a_generated_client_has_one_order_type()
    {
        using var client = system.Client();

        var document = await (await client.GetAsync("/openapi/v1.json")).JsonAsync();

        var schemas = document.GetProperty("components").GetProperty("schemas");
        Assert.Equal("#/components/schemas/OrderResponse", Property(schemas, "OrderPage", "orders").GetProperty("items").GetProperty("$ref").GetString());
        var seat = Property(schemas, "OrderResponse", "seats").GetProperty("items").GetProperty("$ref").GetString()!;
        Assert.StartsWith("#/components/schemas/", seat);
        Assert.Subset(Properties(schemas, seat.Split('/')[^1]), new HashSet<string> { "seat_id", "label" });
        Assert.DoesNotContain(Objects(document), inline => inline.TryGetProperty("properties", out _) && !inline.GetProperty("type").GetRawText().Contains("null", StringComparison.Ordinal));
    }

    /// <summary>Every schema nested below a component (properties and items), the components themselves not included.</summary>
    private static IEnumerable<JsonElement> Objects(JsonElement document) =>
        document.GetProperty("components").GetProperty("schemas").EnumerateObject().SelectMany(component => Nested(component.Value));

    private static IEnumerable<JsonElement> Nested(JsonElement schema)
    {
        var children = (schema.TryGetProperty("properties", out var properties) ? properties.EnumerateObject().Select(p => p.Value) : [])
            .Concat(schema.TryGetProperty("items", out var items) ? [items] : []);
        return children.SelectMany(child => Nested(child).Prepend(child));
    }

    [Fact]
    public async Task The_docs_page_is_html()
    {
        using var client = system.Client();

        using var response = await client.GetAsync("/docs");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("<html", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);
    }

    private static JsonElement Property(JsonElement schemas, string schema, string name) =>
        schemas.GetProperty(schema).GetProperty("properties").GetProperty(name);

    private static JsonElement Resolved(JsonElement schemas, JsonElement schema) =>
        schema.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : schema;

    private static HashSet<string> Properties(JsonElement schemas, string name) =>
        [.. schemas.GetProperty(name).GetProperty("properties").EnumerateObject().Select(p => p.Name)];
}
