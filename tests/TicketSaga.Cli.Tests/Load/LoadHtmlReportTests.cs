using System.Text.RegularExpressions;
using TicketSaga.Cli.Load;

namespace TicketSaga.Cli.Tests.Load;

public sealed partial class LoadHtmlReportTests
{
    [Fact]
    public void The_report_draws_latency_and_throughput_over_time_and_the_distribution_as_inline_svg()
    {
        var html = Render();

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        foreach (var plot in new[] { "latency-over-time", "throughput-over-time", "latency-distribution" })
        {
            Assert.Matches($"<svg id=\"{plot}\"[^>]*>(.|\\n)*?<polyline [^>]*points=\"[0-9., ]+\"", html);
        }

        Assert.Contains("buyers/s &amp; more", html, StringComparison.Ordinal);
    }

    [Fact]
    public void The_report_loads_nothing_from_anywhere()
    {
        var html = Render();

        Assert.DoesNotMatch(ExternalReference(), html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_run_without_answers_still_renders_three_plots()
    {
        var html = LoadHtmlReport.Render("empty", [], OpenLoopSummary.Of(10, TimeSpan.FromSeconds(1), []));

        Assert.Equal(3, Regex.Count(html, "<svg "));
    }

    private static string Render()
    {
        var start = TimeSpan.Zero;
        var records = Enumerable.Range(0, 300).Select(i =>
        {
            var due = TimeSpan.FromSeconds(i / 100.0);
            var kind = i < 200 ? AnswerKind.Reserved : AnswerKind.SoldOut;
            return new ArrivalRecord(due, due + TimeSpan.FromMilliseconds(5 + (i % 50)), kind, false, null, null);
        }).ToArray();
        var summary = OpenLoopSummary.Of(100, TimeSpan.FromSeconds(3), records);
        return LoadHtmlReport.Render("Flash sale <test>", [("offered", "100 buyers/s & more")], summary);
    }

    [GeneratedRegex("(src|href)\\s*=|url\\(|https?://|//cdn", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();
}
