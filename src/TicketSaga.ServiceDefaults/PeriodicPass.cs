using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace TicketSaga.ServiceDefaults;

/// <summary>
/// The shape every sweeper, reclaimer and cleaner shares: a pass at start-up, then one every interval.
/// A pass that fails is logged and the next one tries again, whatever it threw: an exception escaping a
/// BackgroundService stops the whole host, and a database or sidecar hiccup must not stop the service.
/// A pass cut short because the host stops ends quietly, however the cancelled call reported it (a gRPC
/// call surfaces as an RpcException with StatusCode.Cancelled, not an OperationCanceledException).
/// An interval of zero turns the pass off, and says so.
/// </summary>
public abstract partial class PeriodicPass(TimeSpan interval, TimeProvider clock, ILogger logger) : BackgroundService
{
    protected TimeProvider Clock => clock;

    protected ILogger Logger => logger;

    /// <summary>One pass. Every replica runs it; passes that share rows claim them with SKIP LOCKED.</summary>
    protected abstract Task RunPassAsync(CancellationToken cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (interval == TimeSpan.Zero)
        {
            LogOff(logger, GetType().Name);
            return;
        }

        using var timer = new PeriodicTimer(interval, clock);
        try
        {
            do
            {
                try
                {
                    await RunPassAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    LogPassFailed(logger, ex, GetType().Name, interval);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (Exception) when (stoppingToken.IsCancellationRequested)
        {
            // The host is stopping: nothing to report.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Pass} is off: its interval is zero")]
    private static partial void LogOff(ILogger logger, string pass);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Pass} failed; next pass in {Interval}")]
    private static partial void LogPassFailed(ILogger logger, Exception exception, string pass, TimeSpan interval);
}
