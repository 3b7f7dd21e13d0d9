namespace TicketSaga.Runtime.Bindings;

/// <summary>An output binding call: Dapr's <c>operation</c>, <c>data</c> (as JSON bytes over HTTP) and <c>metadata</c>.</summary>
public sealed record BindingRequest(string Operation, byte[] Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>What a binding answers: data (none for an empty body) and metadata, sent back as <c>metadata.*</c> headers.</summary>
public sealed record BindingResponse(byte[]? Data, IReadOnlyDictionary<string, string> Metadata);

/// <summary>The binding refused or failed the call; daprd answers ERR_INVOKE_OUTPUT_BINDING with this message.</summary>
public sealed class BindingInvocationException(string message) : Exception(message);

/// <summary>One output binding component, as a components-contrib <c>OutputBinding</c>: its operations and Invoke.</summary>
public interface IOutputBinding : IAsyncDisposable
{
    IReadOnlyList<string> Operations { get; }

    /// <summary>The answer, or null for none (daprd then answers 204).</summary>
    Task<BindingResponse?> InvokeAsync(BindingRequest request, CancellationToken cancellationToken);
}
