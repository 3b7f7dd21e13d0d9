using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.Runtime.Actors;

/// <summary>
/// The calls a sidecar makes to an actor-hosting app, as daprd makes them: discovery, method calls,
/// timer and reminder callbacks, deactivation.
/// </summary>
public sealed class AppActorChannel(HttpClient http)
{
    private static readonly HashSet<string> HopByHopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer", "Content-Length",
    };

    /// <summary>The app's actor configuration; null when the app hosts no actors (404).</summary>
    /// <exception cref="HttpRequestException">The app is not answering yet, or answers with an error.</exception>
    public async Task<JsonElement?> GetConfigAsync(AppDescriptor app, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(app.AppAddress, "/dapr/config"));
        app.Authenticate(request);
        using var response = await http.SendAsync(request, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }

        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken);
    }

    /// <summary>Forwards an actor method call; the app's status, headers and body go back unchanged.</summary>
    public async Task ForwardMethodAsync(ActorHost host, ActorKey actor, string method, HttpContext context, byte[] body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, ActorUri(host, actor, "method/" + Uri.EscapeDataString(method))) { Content = new ByteArrayContent(body) };
        foreach (var (name, values) in context.Request.Headers)
        {
            if (!HopByHopHeaders.Contains(name) && !request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values))
            {
                request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
            }
        }

        // The caller's Dapr API token stays with the sidecar; the app gets its own app token.
        host.App.Authenticate(request);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
        {
            if (!HopByHopHeaders.Contains(name))
            {
                context.Response.Headers[name] = values.ToArray();
            }
        }

        await response.Content.CopyToAsync(context.Response.Body, cancellationToken);
    }

    /// <summary>Calls a timer's callback with its registration JSON.</summary>
    public Task<bool> InvokeTimerAsync(ActorHost host, ActorKey actor, string name, string registration, CancellationToken cancellationToken) =>
        PutJsonAsync(host, ActorUri(host, actor, "method/timer/" + Uri.EscapeDataString(name)), registration, cancellationToken);

    /// <summary>Calls a reminder's callback with <c>{"data","dueTime","period"}</c> as registered.</summary>
    public Task<bool> InvokeReminderAsync(ActorHost host, ActorKey actor, string name, string reminder, CancellationToken cancellationToken) =>
        PutJsonAsync(host, ActorUri(host, actor, "method/remind/" + Uri.EscapeDataString(name)), reminder, cancellationToken);

    public async Task DeactivateAsync(ActorHost host, ActorKey actor, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Delete, ActorUri(host, actor, null));
        host.App.Authenticate(request);
        using var response = await http.SendAsync(request, cancellationToken);
    }

    private async Task<bool> PutJsonAsync(ActorHost host, Uri uri, string json, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, uri) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        host.App.Authenticate(request);
        using var response = await http.SendAsync(request, cancellationToken);
        return response.IsSuccessStatusCode;
    }

    private static Uri ActorUri(ActorHost host, ActorKey actor, string? suffix) => new(
        host.App.AppAddress,
        $"/actors/{Uri.EscapeDataString(actor.Type)}/{Uri.EscapeDataString(actor.Id)}" + (suffix is null ? "" : "/" + suffix));
}
