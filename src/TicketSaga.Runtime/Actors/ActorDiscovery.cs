using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Actors;

/// <summary>
/// Per sidecar, like daprd at start-up: asks the app for <c>GET /dapr/config</c> until it answers
/// and places the actor types it declares (404 = the app hosts no actors). When the sidecar stops,
/// its types leave placement and their activations are forgotten.
/// </summary>
internal sealed partial class ActorDiscovery(
    AppDescriptor app, ActorPlacement placement, ActiveActors actors, AppActorChannel channel, ILogger<ActorDiscovery> logger) : BackgroundService
{
    private static readonly TimeSpan LongestRetryDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ConfigTimeout = TimeSpan.FromSeconds(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        placement.BeginDiscovery(app.AppId);
        if (app.Protocol != AppChannelProtocol.Http || !app.HasAppChannel)
        {
            // The Dapr actor SDK serves its actor API over HTTP only, and only an app with a port can host actors.
            placement.Place(app, new Dictionary<string, ActorTypeSettings>());
            return;
        }

        var delay = TimeSpan.FromMilliseconds(50);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                timeout.CancelAfter(ConfigTimeout);
                var config = await channel.GetConfigAsync(app, timeout.Token);
                var types = config is null ? new Dictionary<string, ActorTypeSettings>() : ActorTypeSettings.FromAppConfig(config.Value);
                placement.Place(app, types);
                if (types.Count > 0)
                {
                    LogActorTypes(logger, app.AppId, string.Join(", ", types.Keys));
                }

                return;
            }
            catch (InvalidOperationException ex)
            {
                LogPlacementRefused(logger, ex, app.AppId);
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException && !stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(delay, stoppingToken);
                delay = delay * 2 < LongestRetryDelay ? delay * 2 : LongestRetryDelay;
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        actors.Forget(placement.Remove(app.AppId));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "App {App} hosts actor types {ActorTypes}")]
    private static partial void LogActorTypes(ILogger logger, string app, string actorTypes);

    [LoggerMessage(Level = LogLevel.Error, Message = "Actor placement refused app {App}")]
    private static partial void LogPlacementRefused(ILogger logger, Exception exception, string app);
}
