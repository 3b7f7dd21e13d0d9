using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace TicketSaga.ServiceDefaults.Tests;

public sealed class TelemetryTests
{
    [Fact]
    public async Task Without_a_collector_no_span_or_metric_is_recorded_and_with_one_both_are()
    {
        await using var silent = Build(otlpEndpoint: null);
        await using var exporting = Build(otlpEndpoint: "http://127.0.0.1:4317");

        Assert.Null(silent.Services.GetService<TracerProvider>());
        Assert.Null(silent.Services.GetService<MeterProvider>());
        Assert.NotNull(exporting.Services.GetService<TracerProvider>());
        Assert.NotNull(exporting.Services.GetService<MeterProvider>());
    }

    private static WebApplication Build(string? otlpEndpoint)
    {
        var builder = WebApplication.CreateBuilder();
        builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlpEndpoint;
        builder.AddServiceDefaults();
        return builder.Build();
    }
}
