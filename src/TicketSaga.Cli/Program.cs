using TicketSaga.Cli.Commands;

return args.FirstOrDefault() switch
{
    "run" => await RunCommand.ExecuteAsync(args[1..]),
    "up" => await UpCommand.ExecuteAsync(args[1..]),
    _ => Usage.Print(args.FirstOrDefault()),
};
