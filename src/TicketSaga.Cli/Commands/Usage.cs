using Spectre.Console;

namespace TicketSaga.Cli.Commands;

internal static class Usage
{
    public static int Print(string? command)
    {
        if (command is not null and not ("-h" or "--help" or "help"))
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Unknown command '{command}'.[/]");
        }

        AnsiConsole.WriteLine("""
            ticketsaga <command> [options]

              up                     build, start every app of the repository's dapr.yaml on the embedded
                                     Dapr runtime and seed a demo event
              run -f <dapr.yaml>     start the apps of a multi-app run file (`dapr run -f` format)

            Options of run and up:
              --postgres <connstr>        PostgreSQL to use (or TICKETSAGA_POSTGRES); default: a local
                                          cluster kept in .ticketsaga/postgres
              --resources-path <dir>      components folder, repeatable (or TICKETSAGA_RESOURCES_PATH);
                                          default: the folders named in dapr.yaml
              --no-build                  skip `dotnet build` of the solution beside the run file
              --health-timeout <seconds>  how long apps get to become healthy (default 90)
            """);
        return command is null or "-h" or "--help" or "help" ? 0 : 2;
    }
}
