using TicketSaga.ExpirationService;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Http);
builder.AddApplicationServices();

var app = builder.Build();

app.UseCloudEvents();
app.MapActorsHandlers().RequireSidecar();
app.MapOrderEventSubscribers();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
