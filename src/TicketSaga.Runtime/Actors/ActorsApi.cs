using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Actors;

/// <summary>
/// The Dapr actor HTTP API the actor SDK calls on its sidecar: method calls (forwarded to the hosting
/// app as one turn of the actor), state transactions and reads, timers and reminders. As in daprd, any
/// sidecar may call an actor's methods, but only the sidecar of the app hosting the type touches its
/// state, timers and reminders: another app cannot rewrite an actor's state or schedule it.
/// </summary>
public static partial class ActorsApi
{
    /// <summary>Dapr.Actors calls <c>//v1.0/actors/…</c>; routing needs one slash. Call before <c>UseRouting()</c>.</summary>
    public static IApplicationBuilder UseCollapsedSlashes(this IApplicationBuilder app) => app.Use((context, next) =>
    {
        if (context.Request.Path.Value is { } path && path.Contains("//", StringComparison.Ordinal))
        {
            context.Request.Path = new PathString(RepeatedSlashes().Replace(path, "/"));
        }

        return next(context);
    });

    public static IEndpointRouteBuilder MapActorsApi(this IEndpointRouteBuilder endpoints)
    {
        var actor = endpoints.MapGroup("/v1.0/actors/{actorType}/{actorId}");
        // One segment, as daprd routes it: a method "remind/<name>" would reach the app's reminder callback.
        actor.MapMethods("/method/{method}", ["PUT", "POST", "GET", "DELETE"], InvokeMethodAsync);
        actor.MapMethods("/state", ["PUT", "POST"], SaveStateAsync);
        actor.MapGet("/state/{key}", GetStateAsync);
        actor.MapMethods("/reminders/{name}", ["PUT", "POST"], RegisterReminderAsync);
        actor.MapDelete("/reminders/{name}", UnregisterReminderAsync);
        actor.MapGet("/reminders/{name}", GetReminderAsync);
        actor.MapMethods("/timers/{name}", ["PUT", "POST"], RegisterTimerAsync);
        actor.MapDelete("/timers/{name}", UnregisterTimerAsync);
        return endpoints;
    }

    private static async Task InvokeMethodAsync(
        string actorType, string actorId, string method, HttpContext context, ActorPlacement placement, ActiveActors actors, AppActorChannel channel)
    {
        var cancellationToken = context.RequestAborted;
        if (await placement.ResolveAsync(actorType, cancellationToken) is not { } host)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "ERR_ACTOR_INSTANCE_MISSING", MissingType(actorType));
            return;
        }

        var body = await ReadBodyAsync(context);
        var key = new ActorKey(actorType, actorId);
        try
        {
            await actors.RunTurnAsync(key, async () =>
            {
                await channel.ForwardMethodAsync(host, key, method, context, body, cancellationToken);
                return true;
            }, cancellationToken);
        }
        catch (HttpRequestException ex) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "ERR_ACTOR_INVOKE_METHOD",
                $"error invoking actor {key} on app '{host.App.AppId}': {ex.Message}");
        }
    }

    private static async Task SaveStateAsync(string actorType, string actorId, HttpContext context, ActorStateStore state, AppDescriptor app, ActorPlacement placement)
    {
        // daprd: a state transaction needs the actor active in this app (ERR_ACTOR_INSTANCE_MISSING).
        if (!await HostedByAsync(app, actorType, placement, context.RequestAborted))
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "ERR_ACTOR_INSTANCE_MISSING", "actor instance is missing");
            return;
        }

        IReadOnlyList<ActorStateOperation> operations;
        try
        {
            operations = ActorStateStore.ParseTransaction(await ReadBodyAsync(context));
        }
        catch (FormatException ex)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "ERR_MALFORMED_REQUEST", ex.Message);
            return;
        }

        await state.ApplyAsync(new ActorKey(actorType, actorId), operations, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task GetStateAsync(
        string actorType, string actorId, string key, HttpContext context, ActorStateStore state, AppDescriptor app, ActorPlacement placement)
    {
        // daprd keys actor state by the calling app: another app's sidecar finds none of the host's.
        if (!await HostedByAsync(app, actorType, placement, context.RequestAborted)
            || await state.GetAsync(new ActorKey(actorType, actorId), key, context.RequestAborted) is not { } stored)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        if (stored.ExpiresAt is { } expiresAt)
        {
            context.Response.Headers["Metadata.ttlExpireTime"] = expiresAt.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(stored.Value, context.RequestAborted);
    }

    private static async Task RegisterReminderAsync(
        string actorType, string actorId, string name, HttpContext context, ReminderStore reminders, ReminderScheduler scheduler, AppDescriptor app, ActorPlacement placement)
    {
        if (await RefuseNonHostedReminderAsync(context, app, actorType, placement) || await ReadRegistrationAsync(context) is not { } registration)
        {
            return;
        }

        await reminders.RegisterAsync(
            new ActorKey(actorType, actorId), name, registration.DueTime, registration.Period, registration.Data, registration.Ttl, registration.Schedule,
            context.RequestAborted);
        scheduler.Wake();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task UnregisterReminderAsync(
        string actorType, string actorId, string name, HttpContext context, ReminderStore reminders, AppDescriptor app, ActorPlacement placement)
    {
        if (await RefuseNonHostedReminderAsync(context, app, actorType, placement))
        {
            return;
        }

        await reminders.UnregisterAsync(new ActorKey(actorType, actorId), name, context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task GetReminderAsync(
        string actorType, string actorId, string name, HttpContext context, ReminderStore reminders, AppDescriptor app, ActorPlacement placement)
    {
        if (await RefuseNonHostedReminderAsync(context, app, actorType, placement))
        {
            return;
        }

        var reminder = await reminders.GetAsync(new ActorKey(actorType, actorId), name, context.RequestAborted);
        context.Response.ContentType = "application/json";

        // Like daprd 1.16 (scheduler reminders): a missing reminder is 200 with an empty reminder, {}.
        await context.Response.WriteAsync(reminder?.RegistrationJson ?? "{}", context.RequestAborted);
    }

    private static async Task RegisterTimerAsync(
        string actorType, string actorId, string name, HttpContext context, ActorPlacement placement, ActiveActors actors, AppDescriptor app)
    {
        if (!await HostedByAsync(app, actorType, placement, context.RequestAborted))
        {
            await WriteErrorAsync(context, StatusCodes.Status500InternalServerError, "ERR_ACTOR_TIMER_CREATE",
                $"error creating actor timer: can't create timer for actor {actorType}||{actorId}: actor type not registered");
            return;
        }

        if (await ReadRegistrationAsync(context) is not { } registration)
        {
            return;
        }

        actors.RegisterTimer(new ActorKey(actorType, actorId), name, registration.Schedule, registration.Json);
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static async Task<IResult> UnregisterTimerAsync(
        string actorType, string actorId, string name, ActiveActors actors, AppDescriptor app, ActorPlacement placement, CancellationToken cancellationToken)
    {
        // daprd deletes the timer among the calling app's own: another app's sidecar has none to delete.
        if (await HostedByAsync(app, actorType, placement, cancellationToken))
        {
            actors.UnregisterTimer(new ActorKey(actorType, actorId), name);
        }

        return Results.NoContent();
    }

    private static async Task<bool> HostedByAsync(AppDescriptor app, string actorType, ActorPlacement placement, CancellationToken cancellationToken) =>
        await placement.ResolveAsync(actorType, cancellationToken) is { } host && host.App.AppId == app.AppId;

    /// <returns>true when the answer is written: daprd's 403 for a reminder of a type this app does not host.</returns>
    private static async Task<bool> RefuseNonHostedReminderAsync(HttpContext context, AppDescriptor app, string actorType, ActorPlacement placement)
    {
        if (await HostedByAsync(app, actorType, placement, context.RequestAborted))
        {
            return false;
        }

        await WriteErrorAsync(context, StatusCodes.Status403Forbidden, "ERR_ACTOR_REMINDER_NON_HOSTED",
            "operations on actor reminders are only possible on hosted actor types");
        return true;
    }

    private sealed record Registration(string Json, string DueTime, string Period, string? Data, string? Ttl, ActorSchedule Schedule);

    /// <summary>A timer or reminder body <c>{"dueTime","period","data","ttl"(,"callback")}</c>; answers 400 and null when malformed.</summary>
    private static async Task<Registration?> ReadRegistrationAsync(HttpContext context)
    {
        var json = System.Text.Encoding.UTF8.GetString(await ReadBodyAsync(context));
        try
        {
            using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
            var root = document.RootElement;
            string? Text(string property) => root.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var data = root.TryGetProperty("data", out var d) && d.ValueKind != JsonValueKind.Null ? d.GetRawText() : null;
            var (dueTime, period, ttl) = (Text("dueTime") ?? "", Text("period") ?? "", Text("ttl"));
            return new Registration(json, dueTime, period, data, ttl, ActorSchedule.Parse(dueTime, period, ttl, DateTimeOffset.UtcNow));
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException)
        {
            await WriteErrorAsync(context, StatusCodes.Status400BadRequest, "ERR_MALFORMED_REQUEST", ex.Message);
            return null;
        }
    }

    private static string MissingType(string actorType) =>
        $"did not find address for actor type '{actorType}': no app of this runtime declares it in GET /dapr/config";

    private static async Task<byte[]> ReadBodyAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        return buffer.ToArray();
    }

    private static Task WriteErrorAsync(HttpContext context, int status, string errorCode, string message)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new { errorCode, message }, context.RequestAborted);
    }

    [GeneratedRegex("/{2,}")]
    private static partial Regex RepeatedSlashes();
}
