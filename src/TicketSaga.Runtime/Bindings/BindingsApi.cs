using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TicketSaga.Runtime.Api;

namespace TicketSaga.Runtime.Bindings;

/// <summary>
/// daprd's HTTP output binding API (pkg/api/http/http.go, <c>onOutputBindingMessage</c>): <c>POST</c> or <c>PUT</c>
/// <c>/v1.0/bindings/&lt;name&gt;</c> with <c>{"operation", "data", "metadata"}</c>. The binding's answer metadata comes back
/// as <c>metadata.&lt;key&gt;</c> headers, its data as the body (200), no answer as 204; a body that is no such JSON is
/// 400 <c>ERR_MALFORMED_REQUEST</c>, any failure 500 <c>ERR_INVOKE_OUTPUT_BINDING</c>. Behind the Dapr API token.
/// </summary>
public static class BindingsApi
{
    public static WebApplication MapBindingsApi(this WebApplication web)
    {
        web.MapMethods("/v1.0/bindings/{name}", [HttpMethods.Post, HttpMethods.Put], async (string name, HttpRequest request, OutputBindings bindings, CancellationToken cancellationToken) =>
        {
            BindingRequest binding;
            try
            {
                binding = await ReadAsync(request, cancellationToken);
            }
            catch (JsonException ex)
            {
                return Results.Json(new DaprError("ERR_MALFORMED_REQUEST", $"failed deserializing HTTP body: {ex.Message}"), statusCode: StatusCodes.Status400BadRequest);
            }

            try
            {
                if (await bindings.InvokeAsync(name, binding, cancellationToken) is not { } answer)
                {
                    return Results.NoContent();
                }

                foreach (var (key, value) in answer.Metadata)
                {
                    request.HttpContext.Response.Headers["metadata." + key] = value;
                }

                return Results.Bytes(answer.Data ?? [], "application/json");
            }
            catch (BindingInvocationException ex)
            {
                return Results.Json(new DaprError("ERR_INVOKE_OUTPUT_BINDING", $"error invoking output binding {name}: {ex.Message}"), statusCode: StatusCodes.Status500InternalServerError);
            }
        });
        return web;
    }

    /// <summary>
    /// The body as Go's encoding/json reads it into daprd's <c>OutputBindingRequest</c>: field names in any case,
    /// metadata values strings only; <c>data</c> is handed to the binding as JSON (absent: <c>null</c>).
    /// </summary>
    private static async Task<BindingRequest> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var body = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
        if (body.RootElement.ValueKind != JsonValueKind.Object)
        {
            throw new JsonException($"json: cannot unmarshal {body.RootElement.ValueKind.ToString().ToLowerInvariant()} into Go value of type http.OutputBindingRequest");
        }

        var operation = "";
        var data = "null"u8.ToArray();
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var property in body.RootElement.EnumerateObject())
        {
            if (string.Equals(property.Name, "operation", StringComparison.OrdinalIgnoreCase))
            {
                operation = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Null => "",
                    _ => throw new JsonException("json: cannot unmarshal into Go struct field OutputBindingRequest.operation of type string"),
                };
            }
            else if (string.Equals(property.Name, "data", StringComparison.OrdinalIgnoreCase))
            {
                data = JsonSerializer.SerializeToUtf8Bytes(property.Value);
            }
            else if (string.Equals(property.Name, "metadata", StringComparison.OrdinalIgnoreCase) && property.Value.ValueKind != JsonValueKind.Null)
            {
                if (property.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new JsonException("json: cannot unmarshal into Go struct field OutputBindingRequest.metadata of type map[string]string");
                }

                foreach (var item in property.Value.EnumerateObject())
                {
                    metadata[item.Name] = item.Value.ValueKind == JsonValueKind.String
                        ? item.Value.GetString()!
                        : throw new JsonException($"json: cannot unmarshal {item.Value.ValueKind.ToString().ToLowerInvariant()} into Go struct field OutputBindingRequest.metadata of type string");
                }
            }
        }

        return new BindingRequest(operation, data, metadata);
    }
}
