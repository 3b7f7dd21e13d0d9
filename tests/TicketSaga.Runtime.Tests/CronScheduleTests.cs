using TicketSaga.Runtime.Bindings;

namespace TicketSaga.Runtime.Tests;

/// <summary>bindings.cron schedules read as dapr/kit/cron (robfig/cron) reads them, in UTC here.</summary>
public sealed class CronScheduleTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 3, 18, 15, 45, 300, TimeSpan.Zero);

    [Theory]
    [InlineData("@every 10s", "2026-12-03T18:15:55Z")]
    [InlineData("@every 1m30s", "2026-12-03T18:17:15Z")]
    [InlineData("@every 200ms", "2026-12-03T18:15:46Z")]
    [InlineData("CRON_TZ=UTC 15 * * * * *", "2026-12-03T18:16:15Z")]
    [InlineData("CRON_TZ=UTC */20 * * * *", "2026-12-03T18:20:00Z")]
    [InlineData("CRON_TZ=UTC 0 30 9 * * mon-fri", "2026-12-04T09:30:00Z")]
    [InlineData("CRON_TZ=UTC 0 0 1 jan ?", "2027-01-01T00:00:00Z")]
    [InlineData("CRON_TZ=UTC @daily", "2026-12-04T00:00:00Z")]
    [InlineData("CRON_TZ=UTC @hourly", "2026-12-03T19:00:00Z")]
    [InlineData("CRON_TZ=UTC 0 0 13 * 0", "2026-12-06T00:00:00Z")]
    [InlineData("CRON_TZ=UTC 0 0 13 * *", "2026-12-13T00:00:00Z")]
    [InlineData("CRON_TZ=UTC 5,10 * * * * *", "2026-12-03T18:16:05Z")]
    public void Next_firing_is_as_robfig_cron_computes_it(string schedule, string expected)
    {
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), CronSchedule.Parse(schedule).Next(Start));
    }

    [Fact]
    public void Day_of_month_and_day_of_week_both_restricted_fire_on_either()
    {
        // The 13th or a Sunday: December 6th 2026 is a Sunday, before the 13th.
        var next = CronSchedule.Parse("CRON_TZ=UTC 0 0 13 * sun").Next(Start);

        Assert.Equal(new DateTimeOffset(2026, 12, 6, 0, 0, 0, TimeSpan.Zero), next);
    }

    [Theory]
    [InlineData("")]
    [InlineData("* * * *")]
    [InlineData("* * * * * * *")]
    [InlineData("61 * * * * *")]
    [InlineData("@fortnightly")]
    [InlineData("@every soon")]
    [InlineData("*/0 * * * *")]
    [InlineData("TZ=Nowhere/Land * * * * *")]
    public void A_schedule_robfig_cron_refuses_is_refused(string schedule)
    {
        Assert.Throws<FormatException>(() => CronSchedule.Parse(schedule));
    }
}
