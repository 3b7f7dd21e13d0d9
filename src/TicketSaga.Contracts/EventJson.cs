using System.Text.Json;

namespace TicketSaga.Contracts;

/// <summary>How event payloads are written and read: the Dapr SDK's web defaults (camelCase).</summary>
public static class EventJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
