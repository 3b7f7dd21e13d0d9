using System.CommandLine;
using TicketSaga.Cli;
using TicketSaga.Cli.Commands;

MallocArenas.Limit();

// One file per command group under Commands/; each adds its commands to the root here.
var root = new RootCommand("TicketSaga: run, inspect and measure the ticket reservation saga.")
{
    UpCommand.Create(),
    ChaosCommand.Create(),
    ChaosCommand.CreateSoak(),
    RunCommand.Create(),
    BenchCommands.Create(),
    TokenCommand.Create(),
    DlqCommands.Create(),
    LoadCommands.Create(),
    ImagesCommands.Create(),
};

// `run` and `up` stop their apps gracefully on Ctrl+C/SIGTERM themselves; no forced exit here.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
