using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using TicketSaga.PublicApi;

namespace TicketSaga.Gateway.OpenApi;

/// <summary>
/// The public API in one OpenAPI document: the catalog endpoints the gateway serves itself (described
/// from their handlers) and the order and payment endpoints it proxies, described from the request and
/// response types the services answer with (TicketSaga.PublicApi) and the statuses their handlers return.
/// </summary>
public static class PublicApiDocument
{
    private const string Bearer = "Bearer";
    private const string Json = "application/json";
    private const string ProblemJson = "application/problem+json";

    /// <summary>Where ASP.NET Core's schema generator notes the component name of a schema's type.</summary>
    private const string SchemaIdKey = "x-schema-id";

    /// <summary>Every proxied call may also end at the gateway: rate limit, a fault, or the sidecar not answering.</summary>
    private static readonly int[] GatewayStatuses = [429, 500, 502, 503, 504];

    /// <summary>Answers after which the same request may succeed later; they say when in Retry-After.</summary>
    private static readonly int[] RetryLaterStatuses = [409, 429, 503];

    public static IServiceCollection AddPublicApiDocument(this IServiceCollection services)
    {
        // Numbers are numbers: the web default (numbers read from strings too) documents every integer as integer | string.
        services.ConfigureHttpJsonOptions(options => options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);
        return services.AddOpenApi(options =>
        {
            options.AddSchemaTransformer(DocumentConstraints);
            options.AddOperationTransformer(DocumentAnonymousAccess);
            options.AddDocumentTransformer(DescribeAsync);
        });
    }

    private static async Task DescribeAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Info = new OpenApiInfo
        {
            Title = "TicketSaga API",
            Version = "v1",
            Description = "Reserve and pay for tickets. Every endpoint but the catalog and the Stripe webhook needs a JWT " +
                "(development: `ticketsaga token --user <name>`). JSON is snake_case; errors are RFC 9457 problem details.",
        };
        // Relative to wherever the document was fetched from: the gateway's own address is a loopback one behind a proxy.
        document.Servers = null;
        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme { Type = SecuritySchemeType.Http, Scheme = "bearer", BearerFormat = "JWT" };
        document.Security = [BearerRequirement(document)];

        var schemas = new Schemas(document, context, cancellationToken);
        var order = await schemas.ReferenceAsync<OrderResponse>();
        var payment = await schemas.ReferenceAsync<PaymentView>();
        var api = new Describer(document, await schemas.ReferenceAsync<ProblemDetails>());

        api.Add("/orders", HttpMethod.Post, "PlaceOrder", "Orders", "Reserve tickets (and seats): a hold until expires_at",
            request: await schemas.ReferenceAsync<PlaceOrderRequest>(), success: [(201, order)],
            problems: [400, 401, 403, 404, 408, 409, 413, 415, 422], parameters: [IdempotencyKey(), QueueToken()],
            unavailable: WaitingRoomAnswer(await schemas.ReferenceAsync<ProblemDetails>()),
            types: new()
            {
                [400] = "malformed-body, invalid-idempotency-key", [403] = "invalid-queue-token", [404] = "ticket-not-found",
                [409] = "sold-out, seats-taken, not-on-sale, order-in-progress, idempotency-key-in-progress",
                [422] = "invalid-order, max-per-user, idempotency-key-reused",
            });
        MarkReplays(document.Paths!["/orders"].Operations![HttpMethod.Post]);
        api.Add("/orders", HttpMethod.Get, "ListOrders", "Orders", "The caller's orders, newest first, a page at a time",
            success: [(200, await schemas.ReferenceAsync<OrderPage>())], problems: [400, 401, 422],
            types: new() { [400] = "invalid-parameter", [422] = "invalid-order" },
            parameters:
            [
                Query("limit", $"Orders per page (default {OrderPage.DefaultLimit}).",
                    new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1", Maximum = OrderPage.MaxLimit.ToString(CultureInfo.InvariantCulture) }),
                Query("before", "The next_before of the previous page.", Uuid()),
            ]);
        api.Add("/orders/{id}", HttpMethod.Get, "GetOrder", "Orders", "One of the caller's orders",
            success: [(200, order)], problems: [401, 404], parameters: [Path("id")], types: new() { [404] = "order-not-found" });
        api.Add("/orders/{id}/timeline", HttpMethod.Get, "GetOrderTimeline", "Orders", "What happened to one of the caller's orders, each step with its time",
            success: [(200, await schemas.ReferenceAsync<OrderTimeline>())], problems: [401, 404], parameters: [Path("id")],
            types: new() { [404] = "order-not-found" });
        api.Add("/orders/{id}", HttpMethod.Delete, "CancelOrder", "Orders", "Give the hold back before paying; the order becomes CANCELLED shortly",
            success: [(202, order)], problems: [401, 404, 409], parameters: [Path("id")],
            types: new() { [404] = "order-not-found", [409] = "order-ended" });
        api.Add("/payments/confirm", HttpMethod.Post, "ConfirmPayment", "Payments",
            "Pay for a pending order: SUCCEEDED, or REQUIRES_ACTION with what the client needs for 3-D Secure; 202 while Stripe decides",
            request: await schemas.ReferenceAsync<ConfirmPaymentRequest>(), success: [(200, payment), (202, payment)],
            problems: [400, 401, 402, 404, 408, 409, 413, 415, 422],
            types: new()
            {
                [400] = "invalid-request, invalid-payment-method, malformed-body", [402] = "payment-declined (code, decline_code)",
                [404] = "order-not-found", [409] = "order-not-yet-payable, order-not-payable",
                [422] = "payment-request-rejected (code, param)", [503] = "payment-provider-unavailable, service-unavailable",
            });
        api.Add("/payments/{order_id}", HttpMethod.Get, "GetPayment", "Payments", "The payment of one of the caller's orders",
            success: [(200, payment)], problems: [401, 404], parameters: [Path("order_id")], types: new() { [404] = "order-not-found" });
        api.Add("/payments/webhook", HttpMethod.Post, "StripeWebhook", "Payments",
            "Stripe's event notifications (public; verified by the Stripe-Signature header)",
            request: new OpenApiSchema { Type = JsonSchemaType.Object }, success: [(200, null)], problems: [400, 408, 409, 413], anonymous: true,
            types: new()
            {
                [400] = "invalid-webhook-signature", [409] = "webhook-too-early (Stripe sends it again)",
                [503] = "overloaded (too many webhook calls at once; Stripe sends it again), service-unavailable",
            },
            parameters: [new OpenApiParameter { Name = "Stripe-Signature", In = ParameterLocation.Header, Required = true, Schema = new OpenApiSchema { Type = JsonSchemaType.String } }]);
        schemas.ReferenceNestedTypes();
    }

    /// <summary>What the request and response types declare beyond their C# types: UUID strings, allowed values.</summary>
    private static Task DocumentConstraints(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var attributes = context.JsonPropertyInfo?.AttributeProvider;
        if (attributes is null)
        {
            return Task.CompletedTask;
        }

        if (attributes.IsDefined(typeof(UuidAttribute), inherit: false))
        {
            (schema.Items as OpenApiSchema ?? schema).Format = "uuid";
        }

        if (attributes.GetCustomAttributes(typeof(AllowedValuesAttribute), inherit: false) is [AllowedValuesAttribute allowed])
        {
            schema.Enum = [.. allowed.Values.Select(value => value is null ? JsonValue.Create((string?)null)! : JsonValue.Create(value.ToString())!)];
        }

        return Task.CompletedTask;
    }

    /// <summary>The catalog needs no token: <c>security: []</c> overrides the document's bearer requirement.</summary>
    private static Task DocumentAnonymousAccess(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
        {
            operation.Security = [];
        }

        return Task.CompletedTask;
    }

    private static OpenApiSecurityRequirement BearerRequirement(OpenApiDocument document) =>
        new() { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] };

    private static OpenApiSchema Uuid() => new() { Type = JsonSchemaType.String, Format = "uuid" };

    private static OpenApiParameter Path(string name) => new() { Name = name, In = ParameterLocation.Path, Required = true, Schema = Uuid() };

    private static OpenApiParameter Query(string name, string description, OpenApiSchema schema) =>
        new() { Name = name, In = ParameterLocation.Query, Description = description, Schema = schema };

    private static OpenApiParameter IdempotencyKey() => new()
    {
        Name = "Idempotency-Key",
        In = ParameterLocation.Header,
        Description = "Optional; the key is the user's. A retry with the same key and body never places a second order: it gets " +
            "the first answer (marked Idempotent-Replayed: true), even after a timeout or 5xx (retry those with the same key). " +
            "The same body means the same JSON value (property order and whitespace aside); a different one is 422; while the first is " +
            "still in flight, 409 with Retry-After. The gateway keeps answers 24 h; order-service binds the key to its order for good.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 255 },
    };

    private static OpenApiParameter QueueToken() => new()
    {
        Name = "Queue-Token",
        In = ParameterLocation.Header,
        Description = "The queue_token of a waiting-room answer, sent with the same request after its Retry-After (docs/waiting-room.md). " +
            "Bound to the user; a forged or another user's token is 403 invalid-queue-token.",
        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 1024 },
    };

    /// <summary>
    /// A retry with the same Idempotency-Key gets the first answer again, marked so that a client can tell: the
    /// 201, or a 4xx the request earned (not a 401 or 429, which it never reached the key with).
    /// </summary>
    private static void MarkReplays(OpenApiOperation placing)
    {
        foreach (var (code, response) in placing.Responses!)
        {
            if (code is "201" || (code.StartsWith('4') && code is not "401" and not "429"))
            {
                var answer = (OpenApiResponse)response;
                answer.Headers ??= new Dictionary<string, IOpenApiHeader>();
                answer.Headers["Idempotent-Replayed"] = new OpenApiHeader
                {
                    Description = "\"true\" when this is the first answer of the request's Idempotency-Key, given again; absent otherwise.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [JsonValue.Create("true")!] },
                };
            }
        }
    }

    private static Dictionary<string, IOpenApiHeader> RetryAfter() => new()
    {
        ["Retry-After"] = new OpenApiHeader { Description = "Seconds to wait before sending the request again.", Schema = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" } },
    };

    private static Dictionary<string, IOpenApiHeader> Location() => new()
    {
        ["Location"] = new OpenApiHeader { Description = "Where to read what was created or accepted (relative to the API).", Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
    };

    /// <summary>503 of POST /orders: the waiting room (a place and a token to come back with) or overloaded; Retry-After either way.</summary>
    private static OpenApiResponse WaitingRoomAnswer(IOpenApiSchema problem) => new()
    {
        Description = "In the waiting room (type .../waiting-room: position, 1 is next, and queue_token to send back as Queue-Token " +
            "after Retry-After), or overloaded / a service unavailable (retry after Retry-After)",
        Headers = RetryAfter(),
        Content = new Dictionary<string, OpenApiMediaType>
        {
            [ProblemJson] = new()
            {
                Schema = new OpenApiSchema
                {
                    AllOf =
                    [
                        problem,
                        new OpenApiSchema
                        {
                            Type = JsonSchemaType.Object,
                            Properties = new Dictionary<string, IOpenApiSchema>
                            {
                                ["position"] = new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "1" },
                                ["queue_token"] = new OpenApiSchema { Type = JsonSchemaType.String },
                                ["queueToken"] = new OpenApiSchema { Type = JsonSchemaType.String, Deprecated = true, Description = "The same as queue_token." },
                            },
                        },
                    ],
                },
            },
        },
    };

    /// <summary>Component schemas generated from C# types with the API's JSON options (snake_case).</summary>
    private sealed class Schemas(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        public async Task<IOpenApiSchema> ReferenceAsync<T>()
        {
            var name = typeof(T).Name;
            if (document.Components!.Schemas?.ContainsKey(name) != true)
            {
                document.AddComponent(name, await context.GetOrCreateSchemaAsync(typeof(T), cancellationToken: cancellationToken));
            }

            return new OpenApiSchemaReference(name, document);
        }

        /// <summary>
        /// Object types nested in the components (an order in a page, a seat in an order) become components
        /// of their own, referenced by name: the generator inlines them when asked from a document transformer
        /// (dotnet/aspnetcore#67657), and a client generator would then make a second type of each.
        /// </summary>
        public void ReferenceNestedTypes()
        {
            var components = document.Components!.Schemas!;
            var pending = new Queue<IOpenApiSchema>(components.Values);
            while (pending.TryDequeue(out var component))
            {
                if (component is OpenApiSchema schema)
                {
                    Reference(schema);
                }
            }

            void Reference(OpenApiSchema schema)
            {
                foreach (var (property, nested) in schema.Properties?.ToList() ?? [])
                {
                    schema.Properties![property] = Referenced(nested);
                }

                if (schema.Items is { } items)
                {
                    schema.Items = Referenced(items);
                }
            }

            IOpenApiSchema Referenced(IOpenApiSchema nested)
            {
                // A nullable one (type null | object) stays inline: a reference cannot carry the null.
                if (nested is not OpenApiSchema { Properties.Count: > 0, Type: JsonSchemaType.Object } type
                    || type.Metadata is null || !type.Metadata.TryGetValue(SchemaIdKey, out var id) || id is not string name)
                {
                    if (nested is OpenApiSchema other)
                    {
                        Reference(other);
                    }

                    return nested;
                }

                if (components.TryAdd(name, type))
                {
                    pending.Enqueue(type);
                }

                return new OpenApiSchemaReference(name, document);
            }
        }
    }

    private sealed class Describer(OpenApiDocument document, IOpenApiSchema problem)
    {
        public void Add(
            string path, HttpMethod method, string operationId, string tag, string summary,
            (int Status, IOpenApiSchema? Schema)[] success, int[] problems, IOpenApiSchema? request = null,
            OpenApiParameter[]? parameters = null, bool anonymous = false, OpenApiResponse? unavailable = null, Dictionary<int, string>? types = null)
        {
            var operation = new OpenApiOperation
            {
                OperationId = operationId,
                Summary = summary,
                Tags = new HashSet<OpenApiTagReference> { new(tag, document) },
                Parameters = [.. parameters ?? []],
                Responses = [],
                Security = anonymous ? [] : null,
            };
            if (request is not null)
            {
                operation.RequestBody = new OpenApiRequestBody { Required = true, Content = Body(Json, request) };
            }

            foreach (var (status, schema) in success)
            {
                operation.Responses[Code(status)] = new OpenApiResponse
                {
                    Description = ReasonPhrase(status), Content = schema is null ? null : Body(Json, schema), Headers = status is 201 or 202 ? Location() : null,
                };
            }

            foreach (var status in problems.Concat(GatewayStatuses).Order())
            {
                operation.Responses[Code(status)] = new OpenApiResponse
                {
                    Description = Described(status, types), Content = Body(ProblemJson, problem), Headers = RetryLaterStatuses.Contains(status) ? RetryAfter() : null,
                };
            }

            if (unavailable is not null)
            {
                operation.Responses[Code(StatusCodes.Status503ServiceUnavailable)] = unavailable;
            }

            document.Paths ??= [];
            if (!document.Paths.TryGetValue(path, out var item))
            {
                item = new OpenApiPathItem();
                document.Paths[path] = item;
            }

            ((OpenApiPathItem)item).AddOperation(method, operation);
            document.Tags ??= new HashSet<OpenApiTag>();
            document.Tags.Add(new OpenApiTag { Name = tag });
        }

        private static Dictionary<string, OpenApiMediaType> Body(string mediaType, IOpenApiSchema schema) =>
            new() { [mediaType] = new OpenApiMediaType { Schema = schema } };

        private static string Code(int status) => status.ToString(CultureInfo.InvariantCulture);

        private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);

        /// <summary>The reason phrase and, for the statuses the gateway answers on every route, the problem types besides the operation's own.</summary>
        private static string Described(int status, Dictionary<int, string>? types)
        {
            var own = types?.GetValueOrDefault(status) ?? GatewayTypes.GetValueOrDefault(status);
            return own is null ? ReasonPhrase(status) : $"{ReasonPhrase(status)}; problem type (…/problems/<type>): {own}";
        }

        private static readonly Dictionary<int, string> GatewayTypes = new()
        {
            [401] = "unauthorized", [408] = "request-timeout", [413] = "body-too-large", [415] = "unsupported-media-type", [429] = "rate-limited",
            [500] = "internal-error", [502] = "bad-gateway", [503] = "service-unavailable", [504] = "gateway-timeout",
        };
    }
}
