using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace TicketSaga.StripeStub;

/// <summary>
/// A Stripe-compatible server for development and tests, started in-process on a loopback port:
/// point Stripe.net at <see cref="ApiBase"/> (<c>new StripeClient(key, apiBase: ...)</c>). Its state
/// lives in memory and is gone when it stops, unless <see cref="StripeStubOptions.JournalPath"/> keeps it.
/// </summary>
public sealed class StripeStubServer : IAsyncDisposable
{
    private readonly WebApplication _web;

    private readonly StubJournal _journal;

    private StripeStubServer(WebApplication web, StripeStubOptions options, Ledger ledger, EventLog events, StubFaults faults, StubJournal journal)
    {
        _journal = journal;
        Faults = faults;
        _web = web;
        Options = options;
        Ledger = ledger;
        Events = events;
        var address = web.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        ApiBase = new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal)).GetLeftPart(UriPartial.Authority);
    }

    public StripeStubOptions Options { get; }

    /// <summary>The value for Stripe.net's apiBase (no trailing slash), e.g. <c>http://127.0.0.1:12111</c>.</summary>
    public string ApiBase { get; }

    public Ledger Ledger { get; }

    public EventLog Events { get; }

    /// <summary>Outages and lost answers a test switches on (off by default).</summary>
    public StubFaults Faults { get; }

    public static async Task<StripeStubServer> StartAsync(StripeStubOptions options, ILoggerFactory? loggerFactory = null, CancellationToken cancellationToken = default)
    {
        if (!options.ApiKey.StartsWith("sk_test_", StringComparison.Ordinal))
        {
            throw new ArgumentException("The stub accepts test-mode secret keys only (sk_test_...).", nameof(options));
        }

        if (string.IsNullOrEmpty(options.WebhookSecret))
        {
            throw new ArgumentException("A webhook signing secret is required.", nameof(options));
        }

        loggerFactory ??= NullLoggerFactory.Instance;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton(loggerFactory);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, options.Port));
        var web = builder.Build();

        var journal = options.JournalPath is { } path ? StubJournal.Open(path) : StubJournal.InMemory();
        var events = new EventLog(options, loggerFactory.CreateLogger<EventLog>(), journal);
        var ledger = new Ledger(events, journal);
        var faults = new StubFaults();
        web.MapStripeApi(options, ledger, new IdempotencyStore(journal, options.IdempotencyKeyRetention), faults);
        journal.ForgetReplayed();
        await web.StartAsync(cancellationToken);
        return new StripeStubServer(web, options, ledger, events, faults, journal);
    }

    public async ValueTask DisposeAsync()
    {
        await _web.StopAsync();
        await _web.DisposeAsync();
        await Events.DisposeAsync();
        _journal.Dispose();
    }
}
