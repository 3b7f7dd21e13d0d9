using Grpc.Core;

namespace TicketSaga.OrderService.Saga;

public enum HoldOutcome
{
    /// <summary>Finalized or released (now or by an earlier attempt).</summary>
    Done,

    /// <summary>Finalize: the hold is gone (released or reclaimed); release: it was sold to another order.</summary>
    Gone,
}

/// <summary>
/// The one mapping from a ticket- or venue-service answer to a <see cref="HoldOutcome"/>. Activities are
/// retried (OrderSaga.Retry) and replayed after a crash: each is idempotent because both services are
/// idempotent by reservation_id. Any other failure is thrown, so the activity is retried.
/// </summary>
internal static partial class HoldCalls
{
    /// <param name="alsoDone">Statuses that mean the outcome asked for already stands.</param>
    public static async Task<HoldOutcome> OutcomeAsync<TResponse>(
        AsyncUnaryCall<TResponse> call, ILogger logger, string activity, Guid reservationId, params StatusCode[] alsoDone)
    {
        using (call)
        {
            try
            {
                await call.ResponseAsync;
                return HoldOutcome.Done;
            }
            catch (RpcException ex) when (alsoDone.Contains(ex.StatusCode))
            {
                return HoldOutcome.Done;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.FailedPrecondition)
            {
                LogHoldGone(logger, activity, reservationId, ex.Status.Detail);
                return HoldOutcome.Gone;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Activity}: hold {ReservationId} is gone: {Detail}")]
    private static partial void LogHoldGone(ILogger logger, string activity, Guid reservationId, string detail);
}
