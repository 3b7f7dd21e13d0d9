using System.CommandLine;
using TicketSaga.ServiceDefaults;

namespace TicketSaga.Cli.Commands;

/// <summary>
/// `ticketsaga token --user alice [--lifetime 1h]`: prints a development JWT (sub = the user) signed
/// with the key `up`/`run` gave every app, so `curl -H "Authorization: Bearer $(ticketsaga token --user alice)"`
/// works against the running gateway.
/// </summary>
internal static class TokenCommand
{
    private static readonly TimeSpan MaxLifetime = TimeSpan.FromDays(30);

    public static Command Create()
    {
        var user = new Option<string>("--user", "-u") { Description = "The user id the token speaks for (its sub claim).", Required = true };
        var lifetime = new Option<string>("--lifetime")
        {
            Description = "How long the token is valid: 90s, 30m, 1h, 7d or hh:mm:ss (at most 30 days).",
            DefaultValueFactory = _ => "1h",
        };
        var command = new Command("token", "Print a development JWT for a user, signed with the key of this repository's `ticketsaga up`.") { user, lifetime };
        command.SetAction(parse =>
        {
            var userId = parse.GetValue(user)!.Trim();
            if (userId.Length == 0)
            {
                Console.Error.WriteLine("--user must not be empty.");
                return 2;
            }

            if (ParseLifetime(parse.GetValue(lifetime)!) is not { } validFor)
            {
                Console.Error.WriteLine($"--lifetime must be a positive duration of at most {MaxLifetime.TotalDays} days, e.g. 90s, 30m, 1h, 7d or 01:30:00.");
                return 2;
            }

            var runFile = UpCommand.FindRepositoryRunFile(Directory.GetCurrentDirectory());
            if (runFile is null)
            {
                Console.Error.WriteLine("No dapr.yaml in this folder or above it: run `ticketsaga token` inside the TicketSaga repository.");
                return 2;
            }

            var keyFile = DevSigningKey.PathBeside(runFile);
            if (!File.Exists(keyFile))
            {
                Console.Error.WriteLine($"No development signing key at {keyFile}: run `ticketsaga up` once (it creates the key and gives it to every app), then ask for a token again.");
                return 1;
            }

            var settings = new AuthSettings { SigningKey = File.ReadAllText(keyFile).Trim() };
            Console.WriteLine(DevTokens.Create(settings, userId, validFor, name: userId));
            return 0;
        });
        return command;
    }

    private static TimeSpan? ParseLifetime(string text) =>
        DurationText.Parse(text) is { } parsed && parsed <= MaxLifetime ? parsed : null;
}

/// <summary>
/// The development signing key (section Auth:SigningKey of every app): random, made once per checkout
/// in <c>.ticketsaga/dev-signing-key</c> beside dapr.yaml, readable by the owner only, never committed.
/// </summary>
internal static class DevSigningKey
{
    public static string PathBeside(string runFile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(runFile))!, ".ticketsaga", "dev-signing-key");

    public static string LoadOrCreate(string runFile)
    {
        var path = PathBeside(runFile);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using var file = new FileStream(path, options);
            using var writer = new StreamWriter(file);
            var key = DevTokens.NewSigningKey();
            writer.Write(key);
            return key;
        }
        catch (IOException) when (File.Exists(path))
        {
            // Made by an earlier run: every token printed since stays valid.
            return File.ReadAllText(path).Trim();
        }
    }
}
