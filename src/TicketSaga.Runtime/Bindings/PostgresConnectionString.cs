using Npgsql;

namespace TicketSaga.Runtime.Bindings;

/// <summary>
/// The <c>connectionString</c> of Dapr's PostgreSQL components, which pgx reads, as Npgsql's: a URL
/// (<c>postgres://user:password@host:5432/db?sslmode=disable</c>) or libpq keywords
/// (<c>host=localhost user=postgres dbname=orders pool_max_conns=10</c>); pgx passes an unknown keyword to the
/// server as a setting. A string in Npgsql's own <c>Key=Value;</c> form is taken as it is.
/// </summary>
public static class PostgresConnectionString
{
    public static string ToNpgsql(string connectionString)
    {
        var text = connectionString.Trim();
        if (text.StartsWith("postgres://", StringComparison.Ordinal) || text.StartsWith("postgresql://", StringComparison.Ordinal))
        {
            return FromUrl(new Uri(text));
        }

        return text.Contains(';', StringComparison.Ordinal) || !text.Contains('=', StringComparison.Ordinal)
            ? new NpgsqlConnectionStringBuilder(text).ConnectionString
            : FromKeywords(Keywords(text));
    }

    private static string FromUrl(Uri url)
    {
        var keywords = new List<(string, string)>();
        if (url.Host.Length > 0)
        {
            keywords.Add(("host", url.Host));
        }

        if (url.Port > 0)
        {
            keywords.Add(("port", url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        if (url.UserInfo.Split(':', 2) is [{ Length: > 0 } user, ..] userInfo)
        {
            keywords.Add(("user", Uri.UnescapeDataString(user)));
            if (userInfo.Length == 2)
            {
                keywords.Add(("password", Uri.UnescapeDataString(userInfo[1])));
            }
        }

        if (url.AbsolutePath.TrimStart('/') is { Length: > 0 } database)
        {
            keywords.Add(("dbname", Uri.UnescapeDataString(database)));
        }

        foreach (var pair in url.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = pair.Split('=', 2) is [var k, var v] ? (k, v) : (pair, "");
            keywords.Add((Uri.UnescapeDataString(key), Uri.UnescapeDataString(value)));
        }

        return FromKeywords(keywords);
    }

    /// <summary>libpq's <c>key=value</c> list: values may be single-quoted, with <c>\</c> escaping.</summary>
    private static List<(string, string)> Keywords(string text)
    {
        var keywords = new List<(string, string)>();
        var i = 0;
        while (i < text.Length)
        {
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            if (i >= text.Length)
            {
                break;
            }

            var equals = text.IndexOf('=', i);

            if (equals < 0)
            {
                throw new FormatException($"connection string: '{text[i..]}' has no '='");
            }

            var key = text[i..equals].Trim();
            i = equals + 1;
            while (i < text.Length && char.IsWhiteSpace(text[i]))
            {
                i++;
            }

            var value = new System.Text.StringBuilder();
            var quoted = i < text.Length && text[i] == '\'';
            i += quoted ? 1 : 0;
            while (i < text.Length && (quoted ? text[i] != '\'' : !char.IsWhiteSpace(text[i])))
            {
                if (text[i] == '\\' && i + 1 < text.Length)
                {
                    i++;
                }

                value.Append(text[i++]);
            }

            i += quoted ? 1 : 0;
            keywords.Add((key, value.ToString()));
        }

        return keywords;
    }

    private static string FromKeywords(List<(string Key, string Value)> keywords)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        var settings = new List<string>();
        foreach (var (key, value) in keywords)
        {
            switch (key)
            {
                case "host":
                    builder.Host = value;
                    break;
                case "port":
                    builder.Port = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "user":
                    builder.Username = value;
                    break;
                case "password":
                    builder.Password = value;
                    break;
                case "dbname" or "database":
                    builder.Database = value;
                    break;
                case "sslmode":
                    builder.SslMode = value switch
                    {
                        "disable" => SslMode.Disable,
                        "allow" => SslMode.Allow,
                        "prefer" => SslMode.Prefer,
                        "require" => SslMode.Require,
                        "verify-ca" => SslMode.VerifyCA,
                        "verify-full" => SslMode.VerifyFull,
                        _ => throw new FormatException($"connection string: sslmode '{value}' is not one of disable, allow, prefer, require, verify-ca, verify-full"),
                    };
                    break;
                case "connect_timeout":
                    builder.Timeout = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "application_name":
                    builder.ApplicationName = value;
                    break;
                case "pool_max_conns":
                    builder.MaxPoolSize = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "pool_min_conns":
                    builder.MinPoolSize = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "pool_max_conn_lifetime" or "pool_max_conn_idle_time" or "pool_health_check_period" or "pool_max_conn_lifetime_jitter":
                    // Pool tuning of pgx's own; Npgsql's pool keeps its defaults.
                    break;
                default:
                    settings.Add($"-c {key}={value}");
                    break;
            }
        }

        if (settings.Count > 0)
        {
            builder.Options = string.Join(' ', settings);
        }

        return builder.ConnectionString;
    }
}
