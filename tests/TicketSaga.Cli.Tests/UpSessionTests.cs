using TicketSaga.Cli.Commands;
using TicketSaga.Contracts;

namespace TicketSaga.Cli.Tests;

/// <summary>.ticketsaga/up.json: what a running `up` tells `load` and `chaos`, and no more.</summary>
public sealed class UpSessionTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("ticketsaga-session-").FullName;

    [Fact]
    public void Only_the_sidecar_tokens_the_commands_call_with_are_kept()
    {
        var tokens = UpSession.CommandTokens(AppIds.All.Select(id => KeyValuePair.Create(id, (string?)("token-" + id))));

        Assert.Equal(
            new Dictionary<string, string> { [AppIds.TicketService] = "token-" + AppIds.TicketService, [AppIds.VenueService] = "token-" + AppIds.VenueService },
            tokens);
    }

    [Fact]
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    public void The_file_is_created_readable_by_its_owner_only_even_over_a_looser_one_left_by_a_crash()
    {
        var runFile = Path.Combine(_folder, "dapr.yaml");
        var path = UpSession.PathBeside(runFile);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{}");
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
        var session = new UpSession("http://127.0.0.1:5100", new Dictionary<string, int> { [AppIds.TicketService] = 1 },
            new Dictionary<string, string> { [AppIds.TicketService] = "secret" }, TimeSpan.FromMinutes(15), TimeSpan.FromSeconds(60));

        session.Write(runFile);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        Assert.Equal("secret", UpSession.Read(runFile)!.SidecarApiTokens[AppIds.TicketService]);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
