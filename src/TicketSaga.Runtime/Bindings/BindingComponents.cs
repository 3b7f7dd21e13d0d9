using TicketSaga.Runtime.Components;

namespace TicketSaga.Runtime.Bindings;

/// <summary>Which binding types the runtime has, and daprd's reading of a binding component's <c>direction</c> and <c>route</c>.</summary>
public static class BindingComponents
{
    public static IReadOnlyList<string> InputTypes { get; } = ["bindings.cron"];

    /// <summary>daprd registers the PostgreSQL binding under both names.</summary>
    public static IReadOnlyList<string> OutputTypes { get; } = ["bindings.postgresql", "bindings.postgres"];

    /// <summary>
    /// daprd's <c>isBindingOfDirection</c>: without <c>direction</c> metadata a binding is both input and output (as
    /// its type allows); with it, only the directions it lists (<c>input</c>, <c>output</c>, comma-separated).
    /// </summary>
    public static bool IsOfDirection(this ComponentDefinition component, string direction) =>
        component.MetadataValue("direction") is not { } directions || ListsDirection(directions, direction);

    /// <summary>daprd delivers an input binding without asking the app (OPTIONS probe) when <c>direction</c> names input.</summary>
    public static bool IsExplicitlyInput(this ComponentDefinition component) =>
        component.MetadataValue("direction") is { } directions && ListsDirection(directions, "input");

    /// <summary>The app route an input binding's events go to: its <c>route</c> metadata, else the component's name.</summary>
    public static string InputRoute(this ComponentDefinition component) =>
        component.MetadataValue("route") is { Length: > 0 } route ? route : component.Name;

    private static bool ListsDirection(string directions, string direction) =>
        directions.Split(',').Any(d => string.Equals(d.Trim(), direction, StringComparison.OrdinalIgnoreCase));
}
