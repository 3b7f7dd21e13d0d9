using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using TicketSaga.Runtime.Hosting;
using TicketSaga.Runtime.Workflow;

// The embedded runtime with one app's sidecar, in a process of its own, for tests that kill it
// (SIGKILL) and start it again on the same database:
// CrashHost <connection string> <app id> <app port> <http port> <grpc port> <workflow lock timeout ms>
var options = new RuntimeOptions
{
    PostgresConnectionString = args[0],
    Database = new Npgsql.NpgsqlConnectionStringBuilder(args[0]).Database!,
    Workflows = new WorkflowOptions { LockTimeout = TimeSpan.FromMilliseconds(Number(args[5])) },
};
var app = new AppDescriptor(args[1], Number(args[2]), AppChannelProtocol.Http, Number(args[3]), Number(args[4]));

await using var runtime = await EmbeddedRuntime.StartAsync(options, NullLoggerFactory.Instance);
await runtime.AddSidecarAsync(app);
Console.WriteLine("ready");
await Task.Delay(Timeout.Infinite);

static int Number(string value) => int.Parse(value, CultureInfo.InvariantCulture);
