using TicketSaga.ServiceDefaults;
using TicketSaga.VenueService;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Grpc);
builder.AddPostgres("venues", typeof(Program).Assembly);
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
app.MapGrpcService<VenuesGrpcService>().RequireSidecar();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
