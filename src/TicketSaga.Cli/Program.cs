using System.CommandLine;
using TicketSaga.Cli.Commands;

// One file per command group under Commands/; each adds its commands to the root here.
var root = new RootCommand("TicketSaga: run, inspect and measure the ticket reservation saga.")
{
    BenchCommands.Create(),
};

return await root.Parse(args).InvokeAsync();
