using TicketSaga.ExpirationService;
using TicketSaga.ExpirationService.Events;
using TicketSaga.ServiceDefaults;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.UseAppPort(AppProtocol.Http);
builder.AddApplicationServices();

var app = builder.Build();

app.UseRequestSafety();
app.MapActorsHandlers().RequireSidecar();
app.MapEventSubscribers();
app.MapDefaultEndpoints();

app.Run();

public partial class Program;
