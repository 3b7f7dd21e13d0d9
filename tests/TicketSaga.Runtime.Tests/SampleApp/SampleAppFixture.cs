using TicketSaga.Runtime.Hosting;
using TicketSaga.Testing;

namespace TicketSaga.Runtime.Tests.SampleApp;

/// <summary>A fresh runtime with the sample app and its sidecar, for one test class.</summary>
public sealed class SampleAppFixture(PostgresServer postgres) : IAsyncLifetime
{
    private readonly RuntimeFixture _runtime = new(postgres);

    public EmbeddedRuntime Runtime => _runtime.Runtime;

    public SampleApp App { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        await _runtime.InitializeAsync();
        App = await SampleApp.StartAsync(Runtime, "sample-app", actorIdleTimeout: TimeSpan.FromSeconds(1));
    }

    /// <summary>A sidecar of another app, to show that any sidecar reaches the hosting app.</summary>
    public Task<Sidecar> AddSidecarAsync(string appId) => _runtime.AddSidecarAsync(appId);

    public async ValueTask DisposeAsync()
    {
        await App.DisposeAsync();
        await _runtime.DisposeAsync();
    }
}
