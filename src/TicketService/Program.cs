using TicketSaga.ServiceDefaults;
using TicketSaga.TicketService;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Grpc);
builder.AddPostgres("tickets", typeof(Program).Assembly);
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
app.MapGrpcService<TicketsGrpcService>().RequireSidecar();
app.MapDefaultEndpoints();

app.Run();

/// <summary>Visible to the tests and the benchmark, which host the service in-process.</summary>
public partial class Program;
