using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace TicketSaga.Gateway.OpenApi;

/// <summary>
/// The public API in one OpenAPI document: the catalog endpoints the gateway serves itself (described
/// from their handlers) and the order and payment endpoints it proxies (described here, as the routes
/// are YARP's and have no handlers to describe).
/// </summary>
public static class PublicApiDocument
{
    private const string Bearer = "Bearer";

    public static IServiceCollection AddPublicApiDocument(this IServiceCollection services) =>
        services.AddOpenApi(options => options.AddDocumentTransformer(async (document, context, cancellationToken) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = "TicketSaga API",
                Version = "v1",
                Description = "Reserve and pay for tickets. Every endpoint but the catalog and the Stripe webhook needs a JWT " +
                    "(development: `ticketsaga token --user <name>`). JSON is snake_case; errors are RFC 9457 problem details.",
            };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes[Bearer] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                BearerFormat = "JWT",
            };

            var schemas = new Schemas(document, context, cancellationToken);
            var order = await schemas.ReferenceAsync<Order>();
            var problem = await schemas.ReferenceAsync<ProblemDetails>();
            var orders = new Describer(document, problem);

            orders.Add("/orders", HttpMethod.Post, "CreateOrder", "Orders", "Reserve tickets (and seats): a hold until expires_at",
                secured: true, request: await schemas.ReferenceAsync<CreateOrderRequest>(), success: (201, order),
                problems: [400, 404, 409, 422], idempotencyKey: true);
            orders.Add("/orders", HttpMethod.Get, "ListOrders", "Orders", "The caller's orders",
                secured: true, success: (200, new OpenApiSchema { Type = JsonSchemaType.Array, Items = order }));
            orders.Add("/orders/{id}", HttpMethod.Get, "GetOrder", "Orders", "One of the caller's orders",
                secured: true, success: (200, order), problems: [404], idParameter: true);
            orders.Add("/orders/{id}", HttpMethod.Delete, "CancelOrder", "Orders", "Give the hold back before paying (status CANCELLED)",
                secured: true, success: (200, order), problems: [404, 409], idParameter: true);
            orders.Add("/payments/confirm", HttpMethod.Post, "ConfirmPayment", "Payments", "Pay for a pending order",
                secured: true, request: await schemas.ReferenceAsync<ConfirmPaymentRequest>(),
                success: (200, await schemas.ReferenceAsync<PaymentConfirmation>()), problems: [400, 402, 404, 409]);
            orders.Add("/payments/webhook", HttpMethod.Post, "StripeWebhook", "Payments",
                "Stripe's event notifications (public; verified by the Stripe-Signature header)",
                secured: false, request: new OpenApiSchema { Type = JsonSchemaType.Object }, success: (200, null), problems: [400]);
        }));

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
    }

    private sealed class Describer(OpenApiDocument document, IOpenApiSchema problem)
    {
        public void Add(
            string path, HttpMethod method, string operationId, string tag, string summary, bool secured,
            (int Status, IOpenApiSchema? Schema) success, IOpenApiSchema? request = null, int[]? problems = null,
            bool idempotencyKey = false, bool idParameter = false)
        {
            var operation = new OpenApiOperation
            {
                OperationId = operationId,
                Summary = summary,
                Tags = new HashSet<OpenApiTagReference> { new(tag, document) },
                Parameters = [],
                Responses = new OpenApiResponses
                {
                    [success.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
                    {
                        Description = "Success",
                        Content = success.Schema is null ? null : Json("application/json", success.Schema),
                    },
                },
            };
            if (request is not null)
            {
                operation.RequestBody = new OpenApiRequestBody { Required = true, Content = Json("application/json", request) };
            }

            if (idParameter)
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "id", In = ParameterLocation.Path, Required = true,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "uuid" },
                });
            }

            if (idempotencyKey)
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "Idempotency-Key", In = ParameterLocation.Header, Required = false,
                    Description = "Retries with the same key (same user, same body) get the first answer; a different body is 422; " +
                        "a retry while the first is in flight is 409 with Retry-After. Kept 24 h.",
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = 255 },
                });
            }

            if (!secured)
            {
                operation.Parameters.Add(new OpenApiParameter
                {
                    Name = "Stripe-Signature", In = ParameterLocation.Header, Required = true,
                    Schema = new OpenApiSchema { Type = JsonSchemaType.String },
                });
            }

            var errors = (problems ?? []).Concat(secured ? [401] : []).Append(429).Append(503).Order();
            foreach (var status in errors)
            {
                operation.Responses[status.ToString(System.Globalization.CultureInfo.InvariantCulture)] = new OpenApiResponse
                {
                    Description = ReasonPhrase(status),
                    Content = Json("application/problem+json", problem),
                };
            }

            if (secured)
            {
                operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(Bearer, document)] = [] }];
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

        private static Dictionary<string, OpenApiMediaType> Json(string mediaType, IOpenApiSchema schema) =>
            new() { [mediaType] = new OpenApiMediaType { Schema = schema } };

        private static string ReasonPhrase(int status) => Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status);
    }
}
