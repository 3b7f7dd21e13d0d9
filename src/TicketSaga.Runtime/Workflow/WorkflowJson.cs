using DurableTask.Core;
using DurableTask.Core.History;
using Newtonsoft.Json;
using Newtonsoft.Json.Serialization;

namespace TicketSaga.Runtime.Workflow;

/// <summary>
/// How history, messages and states are stored: DurableTask.Core's own types in Newtonsoft JSON (their
/// serializer), each event tagged with its type.
/// </summary>
internal static class WorkflowJson
{
    private static readonly JsonSerializerSettings Settings = new()
    {
        TypeNameHandling = TypeNameHandling.Auto,
        SerializationBinder = new CoreTypesBinder(),
        ConstructorHandling = ConstructorHandling.AllowNonPublicDefaultConstructor,
        DateTimeZoneHandling = DateTimeZoneHandling.Utc,
        NullValueHandling = NullValueHandling.Ignore,
    };

    public static string Write(IList<HistoryEvent> history) => JsonConvert.SerializeObject(history, Settings);

    public static string Write(TaskMessage message) => JsonConvert.SerializeObject(message, Settings);

    public static string Write(OrchestrationState state) => JsonConvert.SerializeObject(state, Settings);

    public static List<HistoryEvent> ReadHistory(string json) => JsonConvert.DeserializeObject<List<HistoryEvent>>(json, Settings) ?? [];

    public static TaskMessage ReadMessage(string json) => JsonConvert.DeserializeObject<TaskMessage>(json, Settings)!;

    public static OrchestrationState ReadState(string json) => JsonConvert.DeserializeObject<OrchestrationState>(json, Settings)!;

    /// <summary>
    /// The sidecar adds events of its own subclasses (a child workflow's creation with its trace
    /// context); they are stored as the DurableTask.Core event they extend, which is all a replay needs.
    /// </summary>
    private sealed class CoreTypesBinder : DefaultSerializationBinder
    {
        public override void BindToName(Type serializedType, out string? assemblyName, out string? typeName)
        {
            var stored = serializedType;
            while (stored.Assembly != typeof(HistoryEvent).Assembly && stored.BaseType is { } baseType && baseType != typeof(object))
            {
                stored = baseType;
            }

            base.BindToName(stored, out assemblyName, out typeName);
        }
    }
}
