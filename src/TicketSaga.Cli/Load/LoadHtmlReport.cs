using System.Globalization;
using System.Net;
using System.Text;

namespace TicketSaga.Cli.Load;

/// <summary>
/// One self-contained HTML page for an open-loop run: the headline figures, then latency over time,
/// throughput over time and the latency distribution, each drawn here as inline SVG — nothing loaded
/// from anywhere, so the file opens the same offline and years later.
/// </summary>
internal static class LoadHtmlReport
{
    private const int Width = 760;
    private const int Height = 300;
    private const int Left = 64;
    private const int Right = 150;
    private const int Top = 16;
    private const int Bottom = 44;

    private static readonly double[] NiceSteps = [1, 2, 5, 10];
    private static readonly double[] DistributionTicks = [0, 90, 99, 99.9, 99.99];

    private sealed record Series(string Name, string Color, IReadOnlyList<(double X, double Y)> Points);

    public static string Render(string title, IReadOnlyList<(string Name, string Value)> facts, OpenLoopSummary run)
    {
        var html = new StringBuilder();
        html.Append(CultureInfo.InvariantCulture, $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>{{Encode(title)}}</title>
            <style>
            body { font: 14px/1.4 system-ui, sans-serif; margin: 2em auto; max-width: {{Width + 40}}px; color: #222; }
            table { border-collapse: collapse; margin-bottom: 1.5em; }
            td { padding: 2px 14px 2px 0; } td:first-child { color: #666; }
            svg text { font: 11px system-ui, sans-serif; fill: #444; }
            h2 { font-size: 16px; margin: 1.5em 0 0.3em; }
            </style></head><body>
            <h1>{{Encode(title)}}</h1>
            <table>
            """);
        foreach (var (name, value) in facts)
        {
            html.Append(CultureInfo.InvariantCulture, $"<tr><td>{Encode(name)}</td><td>{Encode(value)}</td></tr>\n");
        }

        html.Append("</table>\n");
        var seconds = run.Seconds.Where(s => s.Due > 0).ToList();
        html.Append("<h2>Latency over time (from the scheduled send, by second of arrival)</h2>\n");
        html.Append(Chart("latency-over-time", "second of the run", "ms", logY: false, xTicks: null,
        [
            new Series("p50", "#1f77b4", [.. seconds.Select(s => ((double)s.Second, s.P50Ms))]),
            new Series("p99", "#d62728", [.. seconds.Select(s => ((double)s.Second, s.P99Ms))]),
            new Series("max", "#999999", [.. seconds.Select(s => ((double)s.Second, s.MaxMs))]),
        ]));
        html.Append("<h2>Throughput over time (answers per second)</h2>\n");
        html.Append(Chart("throughput-over-time", "second of the run", "answers/s", logY: false, xTicks: null,
        [
            new Series($"offered {run.Rate:0.#}/s", "#999999", [.. run.Seconds.Select(s => ((double)s.Second, s.Second < run.DurationS ? run.Rate : 0))]),
            new Series("all answers", "#1f77b4", [.. run.Seconds.Select(s => ((double)s.Second, (double)s.Answers))]),
            new Series("reserved", "#2ca02c", [.. run.Seconds.Select(s => ((double)s.Second, (double)s.Reserved))]),
            new Series("sold out", "#ff7f0e", [.. run.Seconds.Select(s => ((double)s.Second, (double)s.SoldOut))]),
            new Series("queued", "#9467bd", [.. run.Seconds.Select(s => ((double)s.Second, (double)s.Queued))]),
            new Series("errors", "#d62728", [.. run.Seconds.Select(s => ((double)s.Second, (double)s.Errors))]),
        ]));
        html.Append("<h2>Latency distribution (percentile spectrum)</h2>\n");
        // x = log10(1 / (1 - p)): every extra nine of the tail gets the same width.
        double Nines(double percentile) => Math.Log10(100 / Math.Max(100 - percentile, 0.0005));
        html.Append(Chart("latency-distribution", "percentile", "ms", logY: true,
            xTicks: [.. DistributionTicks.Select(p => (Nines(p), p.ToString("0.##", CultureInfo.InvariantCulture) + "%"))],
            [new Series("latency", "#1f77b4", [.. run.LatencySpectrum.Select(p => (Nines(p.Percentile), p.Ms))])]));
        html.Append("</body></html>\n");
        return html.ToString();
    }

    private static string Chart(string id, string xLabel, string yLabel, bool logY, IReadOnlyList<(double X, string Label)>? xTicks, IReadOnlyList<Series> series)
    {
        var points = series.SelectMany(s => s.Points).ToList();
        var svg = new StringBuilder();
        svg.Append(CultureInfo.InvariantCulture, $"<svg id=\"{id}\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" role=\"img\">\n");
        if (points.Count == 0)
        {
            svg.Append("<text x=\"20\" y=\"40\">no data</text></svg>\n");
            return svg.ToString();
        }

        var xMin = Math.Min(0, points.Min(p => p.X));
        var xMax = Math.Max(xMin + 1, points.Max(p => p.X));
        double Y(double value) => logY ? Math.Log10(Math.Max(value, 0.01)) : value;
        var yMin = logY ? Math.Floor(Y(points.Min(p => p.Y))) : 0;
        var yMax = Math.Max(yMin + 1, logY ? Math.Ceiling(Y(points.Max(p => p.Y))) : NiceCeiling(points.Max(p => p.Y)));
        var plotWidth = Width - Left - Right;
        var plotHeight = Height - Top - Bottom;
        string Px(double x) => F(Left + ((x - xMin) / (xMax - xMin) * plotWidth));
        string Py(double y) => F(Top + plotHeight - ((Y(y) - yMin) / (yMax - yMin) * plotHeight));

        svg.Append(CultureInfo.InvariantCulture, $"<rect x=\"{Left}\" y=\"{Top}\" width=\"{plotWidth}\" height=\"{plotHeight}\" fill=\"#fafafa\" stroke=\"#ccc\"/>\n");
        var yTicks = logY
            ? Enumerable.Range((int)yMin, (int)(yMax - yMin) + 1).Select(e => Math.Pow(10, e))
            : Enumerable.Range(0, 5).Select(i => yMax * i / 4);
        foreach (var tick in yTicks)
        {
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Left}\" x2=\"{Left + plotWidth}\" y1=\"{Py(tick)}\" y2=\"{Py(tick)}\" stroke=\"#e4e4e4\"/><text x=\"{Left - 6}\" y=\"{Py(tick)}\" text-anchor=\"end\" dominant-baseline=\"middle\">{Number(tick)}</text>\n");
        }

        var ticks = xTicks ?? [.. Enumerable.Range(0, 6).Select(i => xMin + ((xMax - xMin) * i / 5)).Select(x => (x, Number(x)))];
        foreach (var (x, label) in ticks)
        {
            svg.Append(CultureInfo.InvariantCulture,
                $"<text x=\"{Px(x)}\" y=\"{Top + plotHeight + 16}\" text-anchor=\"middle\">{Encode(label)}</text>\n");
        }

        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"{Left + (plotWidth / 2)}\" y=\"{Height - 6}\" text-anchor=\"middle\">{Encode(xLabel)}</text>\n");
        svg.Append(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{Top + (plotHeight / 2)}\" transform=\"rotate(-90 12 {Top + (plotHeight / 2)})\" text-anchor=\"middle\">{Encode(yLabel)}</text>\n");
        for (var i = 0; i < series.Count; i++)
        {
            var line = series[i];
            if (line.Points.Count > 0)
            {
                svg.Append(CultureInfo.InvariantCulture,
                    $"<polyline fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"1.8\" points=\"{string.Join(' ', line.Points.Select(p => $"{Px(p.X)},{Py(p.Y)}"))}\"><title>{Encode(line.Name)}</title></polyline>\n");
            }

            var legendY = Top + 10 + (i * 18);
            svg.Append(CultureInfo.InvariantCulture,
                $"<line x1=\"{Width - Right + 12}\" x2=\"{Width - Right + 32}\" y1=\"{legendY}\" y2=\"{legendY}\" stroke=\"{line.Color}\" stroke-width=\"3\"/><text x=\"{Width - Right + 38}\" y=\"{legendY}\" dominant-baseline=\"middle\">{Encode(line.Name)}</text>\n");
        }

        svg.Append("</svg>\n");
        return svg.ToString();
    }

    /// <summary>1, 2 or 5 times a power of ten, at least <paramref name="value"/>: round axis ends.</summary>
    private static double NiceCeiling(double value)
    {
        if (value <= 0)
        {
            return 1;
        }

        var power = Math.Pow(10, Math.Floor(Math.Log10(value)));
        return NiceSteps.Select(m => m * power).First(v => v >= value);
    }

    private static string Number(double value) => value.ToString(Math.Abs(value) >= 10 || value == Math.Floor(value) ? "0" : "0.##", CultureInfo.InvariantCulture);

    private static string F(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Encode(string text) => WebUtility.HtmlEncode(text);
}
