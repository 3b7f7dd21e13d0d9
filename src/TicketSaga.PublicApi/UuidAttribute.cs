namespace TicketSaga.PublicApi;

/// <summary>
/// A string (or each string of a list) that must be a UUID. Documented as <c>format: uuid</c>; the
/// handler parses it itself, so that a malformed id is the API's own problem answer, not a binding failure.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class UuidAttribute : Attribute;
