using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TicketSaga.Contracts;

namespace TicketSaga.ServiceDefaults;

/// <summary>A delivered CloudEvent: its id (the inbox key) and its data.</summary>
public sealed record IncomingEvent<T>(string Id, T Data);

public static class CloudEventReader
{
    /// <summary>The CloudEvent in the request body, or null when it has no id or no data of this topic's type.</summary>
    public static async Task<IncomingEvent<T>?> ReadAsync<T>(HttpRequest request, CancellationToken cancellationToken)
        where T : class
    {
        try
        {
            using var envelope = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken);
            var root = envelope.RootElement;
            return root.TryGetProperty("id", out var id) && id.GetString() is { Length: > 0 } cloudEventId
                && root.TryGetProperty("data", out var data) && data.Deserialize<T>(EventJson.Options) is { } payload
                ? new IncomingEvent<T>(cloudEventId, payload)
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
