using System.Collections.Concurrent;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TicketSaga.Contracts;
using TicketSaga.Runtime.Hosting;

namespace TicketSaga.OrderService.Tests;

/// <summary>
/// Stands in for payment-service (built elsewhere) behind its sidecar: answers
/// <c>GET /internal/payments/{id}/attempts</c> with the attempts a test gave it, and takes the order
/// events delivered to payment-service (a refused delivery would go to the topic's dead-letter topic).
/// </summary>
public sealed class PaymentServiceDouble : IAsyncDisposable
{
    private readonly WebApplication _web;

    private PaymentServiceDouble(WebApplication web) => _web = web;

    public ConcurrentDictionary<Guid, PaymentAttempt[]> Attempts { get; } = new();

    /// <summary>While set, the route answers 500, as a payment-service that cannot read its database.</summary>
    public bool Failing { get; set; }

    public static async Task<PaymentServiceDouble> StartAsync(AppDescriptor app)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, app.AppPort));
        var web = builder.Build();
        var double_ = new PaymentServiceDouble(web);
        web.MapGet("/internal/payments/{orderId:guid}/attempts", (Guid orderId) => double_.Failing
            ? Results.StatusCode(StatusCodes.Status500InternalServerError)
            : Results.Json(double_.Attempts.GetValueOrDefault(orderId, []), EventJson.Options));
        web.MapPost("/events/{topic}", () => Results.Ok());
        await web.StartAsync();
        return double_;
    }

    public async ValueTask DisposeAsync() => await _web.DisposeAsync();
}
