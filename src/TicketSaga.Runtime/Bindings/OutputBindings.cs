using System.Collections.Concurrent;
using TicketSaga.Runtime.Components;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Secrets;

namespace TicketSaga.Runtime.Bindings;

/// <summary>
/// One sidecar's output bindings, as daprd's binding processor holds them: each output binding component visible to
/// the app (scopes) and of the output direction, its own instance per sidecar (so an app's <c>close</c> closes only its
/// own pool); daprd's checks before <c>Invoke</c>: an operation is given, the binding exists, it supports the operation.
/// </summary>
public sealed class OutputBindings(AppDescriptor app, RuntimeResources resources) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<IOutputBinding>> _bindings = new(StringComparer.Ordinal);

    public async Task<BindingResponse?> InvokeAsync(string name, BindingRequest request, CancellationToken cancellationToken)
    {
        if (request.Operation.Length == 0)
        {
            throw new BindingInvocationException("operation field is missing from request");
        }

        var component = resources.ComponentsFor(app.AppId).FirstOrDefault(c =>
            c.Name == name && BindingComponents.OutputTypes.Contains(c.Type, StringComparer.Ordinal) && c.IsOfDirection("output"))
            ?? throw new BindingInvocationException($"couldn't find output binding {name}");
        var binding = _bindings.GetOrAdd(name, _ => new Lazy<IOutputBinding>(() => Create(component))).Value;
        if (!binding.Operations.Contains(request.Operation, StringComparer.Ordinal))
        {
            throw new BindingInvocationException(
                $"binding {name} does not support operation {request.Operation}. supported operations:{string.Join(' ', binding.Operations)}");
        }

        return await binding.InvokeAsync(request, cancellationToken);
    }

    /// <summary>A binding that cannot be made (a secret not found, a malformed connection string) fails every call with the reason.</summary>
    private PostgresBinding Create(ComponentDefinition component)
    {
        try
        {
            var metadata = SecretStores.ResolveMetadata(component, resources);
            var connectionString = metadata.GetValueOrDefault("connectionString") ?? metadata.GetValueOrDefault("url");
            return new PostgresBinding(connectionString ?? throw new BindingInvocationException($"binding {component.Name} has no connectionString"));
        }
        catch (Exception ex) when (ex is SecretUnavailableException or FormatException or ArgumentException)
        {
            throw new BindingInvocationException($"binding {component.Name} cannot be initialized: {ex.Message}");
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var binding in _bindings.Values.Where(b => b.IsValueCreated))
        {
            await binding.Value.DisposeAsync();
        }
    }
}
