using System.Globalization;
using System.Text.Json;
using TicketSaga.Runtime.PubSub;

namespace TicketSaga.Runtime.Tests;

/// <summary>The publish metadata daprd turns into a CloudEvent's <c>expiration</c>, as components-contrib's <c>TryGetTTL</c> reads it.</summary>
public sealed class CloudEventEnvelopeTests
{
    [Theory]
    [InlineData("ttlInSeconds", "60", 60)]
    [InlineData("ttl", "1m30s", 90)]
    [InlineData("ttlInSeconds", "1.5h", 5400)]
    [InlineData("TTLINSECONDS", "60", 60)]
    [InlineData("ttlInSeconds", "-5s", 0)]
    // Go's time.ParseDuration reads a bare "0" as a duration: expired at once.
    [InlineData("ttlInSeconds", "0", 0)]
    public void A_ttl_sets_the_expiration_from_now(string key, string value, int seconds)
    {
        var before = DateTimeOffset.UtcNow;

        var expiration = ExpirationOf(key, value);

        Assert.NotNull(expiration);
        Assert.InRange(expiration.Value, before.AddSeconds(seconds - 1), DateTimeOffset.UtcNow.AddSeconds(seconds));
    }

    [Theory]
    [InlineData("ttlInSeconds", "soon")]
    [InlineData("ttlInSeconds", "-5")]
    [InlineData("ttlSeconds", "60")]
    public void A_ttl_daprd_cannot_read_is_ignored(string key, string value) => Assert.Null(ExpirationOf(key, value));

    [Fact]
    public void Only_a_cloud_event_past_a_readable_expiration_has_expired()
    {
        var now = DateTimeOffset.UtcNow;
        static JsonElement Event(string json) => JsonDocument.Parse(json).RootElement;

        Assert.True(CloudEventEnvelope.HasExpired(Event("""{"expiration":"2020-01-01T00:00:00Z"}"""), now));
        Assert.False(CloudEventEnvelope.HasExpired(Event("""{"expiration":"2999-01-01T00:00:00Z"}"""), now));
        Assert.False(CloudEventEnvelope.HasExpired(Event("""{"expiration":"whenever"}"""), now));
        Assert.False(CloudEventEnvelope.HasExpired(Event("""{"id":"no-expiration"}"""), now));
    }

    private static DateTimeOffset? ExpirationOf(string key, string value)
    {
        var message = CloudEventEnvelope.Create(new PublishRequest(
            "pubsub", "offers.flash", """{"n":1}"""u8.ToArray(), "application/json", new Dictionary<string, string> { [key] = value }, "offer-publisher", null));
        using var cloudEvent = JsonDocument.Parse(message.CloudEventJson);
        return cloudEvent.RootElement.TryGetProperty("expiration", out var expiration)
            ? DateTimeOffset.Parse(expiration.GetString()!, CultureInfo.InvariantCulture)
            : null;
    }
}
