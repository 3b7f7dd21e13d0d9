using Grpc.Core;

namespace TicketSaga.VenueService;

/// <summary>The statuses a client sees; every message is meant to be shown as it is.</summary>
internal static class VenueErrors
{
    public static RpcException InvalidArgument(string message) => new(new Status(StatusCode.InvalidArgument, message));

    public static RpcException NotFound(string message) => new(new Status(StatusCode.NotFound, message));

    public static RpcException AlreadyExists(string message) => new(new Status(StatusCode.AlreadyExists, message));

    public static RpcException FailedPrecondition(string message) => new(new Status(StatusCode.FailedPrecondition, message));

    public static RpcException ResourceExhausted(string message) => new(new Status(StatusCode.ResourceExhausted, message));

    public static RpcException Aborted(string message) => new(new Status(StatusCode.Aborted, message));
}
