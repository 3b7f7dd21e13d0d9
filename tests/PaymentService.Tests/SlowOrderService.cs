namespace TicketSaga.PaymentService.Tests;

/// <summary>order-service that answers only once the test lets it, with the answer the test gives.</summary>
internal sealed class SlowOrderService(Func<HttpResponseMessage> answer) : HttpMessageHandler
{
    public TaskCompletionSource Asked { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Answer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Asked.TrySetResult();
        await Answer.Task.WaitAsync(cancellationToken);
        return answer();
    }
}
