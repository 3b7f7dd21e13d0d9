using System.Runtime.InteropServices;
using Microsoft.Extensions.Configuration;

namespace TicketSaga.StripeStub;

/// <summary>
/// Standalone: <c>dotnet run --project src/TicketSaga.StripeStub</c>, configured from section
/// <c>StripeStub</c> (Port, ApiKey, WebhookSecret, WebhookUrl, JournalPath; environment <c>StripeStub__ApiKey</c>...).
/// A key or secret left unset is generated and printed once, so a client can be pointed at it.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var configuration = new ConfigurationBuilder().AddEnvironmentVariables().AddCommandLine(args).Build();
        var options = configuration.GetSection("StripeStub").Get<StripeStubOptions>() ?? new StripeStubOptions();
        options = options with
        {
            ApiKey = string.IsNullOrEmpty(options.ApiKey) ? StripeStubOptions.NewApiKey() : options.ApiKey,
            WebhookSecret = string.IsNullOrEmpty(options.WebhookSecret) ? StripeStubOptions.NewWebhookSecret() : options.WebhookSecret,
        };

        StripeStubServer started;
        try
        {
            started = await StripeStubServer.StartAsync(options);
        }
        catch (IOException ex)
        {
            // Kestrel's bind failure, in one line instead of its stack trace.
            await Console.Error.WriteLineAsync($"Port {options.Port} is taken ({ex.Message}): stop what listens there or set StripeStub__Port.");
            return 1;
        }

        await using var server = started;
        Console.WriteLine($"Stripe-compatible stub on {server.ApiBase} (state {(options.JournalPath is null ? "in memory" : "in " + options.JournalPath)})");
        Console.WriteLine($"  Stripe__ApiBase={server.ApiBase}");
        Console.WriteLine($"  Stripe__ApiKey={options.ApiKey}");
        Console.WriteLine($"  Stripe__WebhookSecret={options.WebhookSecret}");
        Console.WriteLine($"  webhooks to: {(options.WebhookUrl is null ? "(none: StripeStub__WebhookUrl)" : options.WebhookUrl)}");

        var stopped = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            stopped.TrySetResult();
        };
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            stopped.TrySetResult();
        });
        await stopped.Task;
        return 0;
    }
}
