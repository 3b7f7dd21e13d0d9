namespace TicketSaga.Runtime.Api;

/// <summary>The error body daprd answers on its HTTP API: <c>{"errorCode":..,"message":..}</c>.</summary>
public sealed record DaprError(string ErrorCode, string Message);
