using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace TicketSaga.Gateway.Admission;

/// <summary>A place in an event's queue as its token names it.</summary>
public sealed record QueuePlace(string EventId, string UserId, long Number);

/// <summary>
/// Queue tokens: the place (event, user, number) and an HMAC-SHA256 over it, so that a client can
/// neither make one up nor move to another place or user.
/// </summary>
public sealed class QueueTokens
{
    private readonly byte[] _key;

    public QueueTokens(IOptions<WaitingRoomOptions> options) =>
        _key = options.Value.TokenKey.Length > 0 ? Convert.FromBase64String(options.Value.TokenKey) : RandomNumberGenerator.GetBytes(32);

    public string Issue(QueuePlace place)
    {
        var payload = Encoding.UTF8.GetBytes(string.Join('\n', place.EventId, place.UserId, place.Number.ToString(CultureInfo.InvariantCulture)));
        return WebEncoders.Base64UrlEncode(payload) + "." + WebEncoders.Base64UrlEncode(HMACSHA256.HashData(_key, payload));
    }

    /// <summary>The place a token names, or null when it is malformed or not signed by this key.</summary>
    public QueuePlace? Read(string token)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || token.Length > 1024)
        {
            return null;
        }

        try
        {
            var payload = WebEncoders.Base64UrlDecode(token[..dot]);
            if (!CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_key, payload), WebEncoders.Base64UrlDecode(token[(dot + 1)..])))
            {
                return null;
            }

            var parts = Encoding.UTF8.GetString(payload).Split('\n');
            return parts.Length == 3 && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var number)
                ? new QueuePlace(parts[0], parts[1], number)
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }
}
