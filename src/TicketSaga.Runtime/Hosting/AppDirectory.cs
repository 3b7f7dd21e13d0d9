using System.Collections.Concurrent;

namespace TicketSaga.Runtime.Hosting;

/// <summary>The apps of this runtime by app id: where invocation, delivery and actor calls go.</summary>
public sealed class AppDirectory
{
    private readonly ConcurrentDictionary<string, AppDescriptor> _apps = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyCollection<AppDescriptor> Apps => [.. _apps.Values];

    public void Add(AppDescriptor app)
    {
        if (!_apps.TryAdd(app.AppId, app))
        {
            throw new InvalidOperationException($"App id '{app.AppId}' is already running in this runtime.");
        }
    }

    public AppDescriptor? Find(string appId) => _apps.GetValueOrDefault(appId);
}
